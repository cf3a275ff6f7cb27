/**
 * The Duplex an ISerialPort hands out, shared by the real and the sim binding so both close the same way.
 *
 * Why a wrapper instead of the raw stream: a serialport SerialPort that has been closed queues later writes
 * until it is reopened (their callbacks never fire), and it surfaces failures as plain Errors. The contract
 * (serial-port.ts) wants: bytes in and out, the readable side ends when the port closes, writes after close fail
 * with ERR_DRIVER_CLOSED, and I/O failures arrive as 'error' with a DriverError. This class gives both bindings
 * exactly that on top of whatever raw byte Duplex they have.
 */
import { Duplex } from 'node:stream';
import { systemClock, type Clock } from '../../runtime/clock.ts';
import { DriverError, DriverErrorCode, isDriverError } from '../errors.ts';

/** What sits underneath a SerialStream: the raw bytes plus the two port operations close() needs. */
export interface SerialLink {
  readonly raw: Duplex;
  /** Waits until bytes already written have left the host (tcdrain on a real port). */
  drain(): Promise<void>;
  /** Closes the underlying port. Must tolerate a port that is already closed. */
  close(): Promise<void>;
}

export interface SerialStreamOptions {
  clock?: Clock;
  /**
   * How long close() waits for pending writes to leave before closing anyway. A device that stopped reading
   * (flow control, a full pty) would otherwise make close() hang forever; after this, unsent bytes are dropped.
   */
  flushTimeoutMs?: number;
}

const EMPTY = Buffer.alloc(0);

export class SerialStream extends Duplex {
  readonly path: string;
  readonly #link: SerialLink;
  readonly #clock: Clock;
  readonly #flushTimeoutMs: number;
  #closing: Promise<void> | null = null;
  /** Set once close() has started: from then on the raw side's close/errors are ours, not a failure. */
  #closed = false;
  #eof = false;

  constructor(path: string, link: SerialLink, options: SerialStreamOptions = {}) {
    super({ allowHalfOpen: true });
    this.path = path;
    this.#link = link;
    this.#clock = options.clock ?? systemClock;
    this.#flushTimeoutMs = options.flushTimeoutMs ?? 2000;
    const raw = link.raw;
    raw.on('data', (chunk: Buffer) => {
      if (this.#eof || this.destroyed) return;
      // Backpressure: stop the raw side (serialport stops reading the fd) until our consumer asks again.
      if (!this.push(chunk)) raw.pause();
    });
    raw.on('end', () => {
      // The other side hung up (a sim device ended its stream, a tty HUP): EOF for our reader.
      if (!this.#closed) this.#endReadable();
    });
    raw.on('error', (err: Error) => this.#fail(err));
    raw.on('close', (err?: Error | null) => {
      // serialport emits 'close' with a DisconnectedError when a USB adapter is unplugged.
      if (!this.#closed) this.#fail(err ?? new Error('port closed underneath'));
    });
  }

  override _read(): void {
    this.#link.raw.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    // close() uses an empty write as a barrier behind everything queued; nothing to send for it. Checked first: when
    // the flush timed out, the barrier reaches this only after close() marked the port closed, and an error here
    // would surface as an 'error' event of a stream its caller has already closed.
    if (chunk.length === 0) {
      callback();
      return;
    }
    if (this.#closed) {
      callback(new DriverError(DriverErrorCode.CLOSED, `serial ${this.path}: port is closed`));
      return;
    }
    this.#link.raw.write(chunk, (err?: Error | null) => {
      // Bytes close() discarded after its flush timeout: close() already told the caller it is closing.
      if (err && !this.#closed) callback(new DriverError(DriverErrorCode.IO, `serial ${this.path}: write failed: ${err.message}`, { cause: err }));
      else callback();
    });
  }

  override _final(callback: (error?: Error | null) => void): void {
    // The caller ended its writing side; the port stays open for reading until close().
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // Destroying the stream must still release the port (an exclusive lock on a real tty).
    this.#shutdown().then(
      () => callback(error),
      () => callback(error),
    );
  }

  /** Flushes pending writes (bounded by flushTimeoutMs), drains, closes the port, ends the readable side. */
  close(): Promise<void> {
    return this.#shutdown();
  }

  #shutdown(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#withTimeout(this.#pendingWrites().then(() => this.#link.drain()));
      this.#closed = true;
      await this.#link.close().catch(() => undefined);
      this.#endReadable();
    })();
    return this.#closing;
  }

  /** Resolves once every write accepted so far has been handed to the port (or failed). */
  #pendingWrites(): Promise<void> {
    if (this.destroyed || this.writableFinished) return Promise.resolve();
    if (this.writableEnded) {
      return new Promise((resolve) => {
        const done = (): void => {
          this.off('finish', done).off('close', done).off('error', done);
          resolve();
        };
        this.on('finish', done).on('close', done).on('error', done);
      });
    }
    // Writes reach _write one at a time in order, so an empty write's callback runs after all earlier ones.
    return new Promise((resolve) => this.write(EMPTY, () => resolve()));
  }

  #withTimeout(work: Promise<void>): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.#clock.setTimeout(resolve, this.#flushTimeoutMs);
      const settle = (): void => {
        this.#clock.clearTimeout(timer);
        resolve();
      };
      work.then(settle, settle);
    });
  }

  #endReadable(): void {
    if (this.#eof || this.destroyed) return;
    this.#eof = true;
    this.push(null);
  }

  #fail(err: Error): void {
    if (this.#closed || this.destroyed) return;
    this.#closed = true;
    const wrapped = isDriverError(err) ? err : new DriverError(DriverErrorCode.IO, `serial ${this.path}: ${err.message}`, { cause: err });
    void this.#link.close().catch(() => undefined);
    this.destroy(wrapped);
  }
}
