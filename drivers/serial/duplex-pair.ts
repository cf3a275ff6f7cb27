/**
 * Two in-memory Duplex ends joined like a null-modem cable: bytes written to one are read from the other.
 * Node 20 has no stream.duplexPair (added in 22.6), so the sim serial port uses this.
 *
 * Backpressure is real: a write's callback waits until the other end's reader has room, so a device that
 * floods a port nobody reads stalls the way a full tty buffer would, instead of growing memory without bound.
 * cut() models the host closing the port: the far end sees end-of-stream and whatever it writes afterwards is
 * dropped, as a UART keeps transmitting into a port nobody has open.
 */
import { Duplex } from 'node:stream';

class PairEnd extends Duplex {
  peer: PairEnd | null = null;
  /** Set by cut(): this end's writes go nowhere. */
  severed = false;
  /** A write that is waiting for the peer's reader to take more. */
  #blocked: (() => void) | null = null;
  #eof = false;

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const peer = this.peer;
    if (this.severed || !peer || peer.destroyed || peer.#eof) {
      callback();
      return;
    }
    if (peer.push(chunk)) callback();
    else peer.#blocked = callback;
  }

  override _read(): void {
    this.releaseBlocked();
  }

  override _final(callback: (error?: Error | null) => void): void {
    // Ending one side's writing is end-of-stream for the other side's reader.
    if (!this.severed) this.peer?.endReadable();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // A peer blocked on our reader must not wait forever for a reader that is gone.
    this.releaseBlocked();
    callback(error);
  }

  endReadable(): void {
    if (this.#eof || this.destroyed) return;
    this.#eof = true;
    this.push(null);
  }

  releaseBlocked(): void {
    const blocked = this.#blocked;
    this.#blocked = null;
    blocked?.();
  }
}

export interface DuplexPair {
  /** The host's end (what the port's stream reads and writes). */
  near: Duplex;
  /** The device's end. */
  far: Duplex;
  /** Host closed the port: far sees end-of-stream, far's later writes are dropped, near is destroyed. */
  cut(): void;
}

export function createDuplexPair(): DuplexPair {
  const near = new PairEnd();
  const far = new PairEnd();
  near.peer = far;
  far.peer = near;
  let cut = false;
  return {
    near,
    far,
    cut(): void {
      if (cut) return;
      cut = true;
      far.severed = true;
      near.severed = true;
      far.endReadable();
      // Writes from either side that were waiting for the other's reader: there is no reader any more.
      far.releaseBlocked();
      near.releaseBlocked();
      near.destroy();
    },
  };
}
