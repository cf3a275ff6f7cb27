/**
 * The embedded broker's maximum packet size. aedes 1.x hands each connection to mqtt-packet's parser with no size
 * limit: the parser appends every byte it is given to one buffer list until the Remaining Length the fixed header
 * announced has arrived (MQTT 3.1.1 §2.2.3 allows up to 268,435,455 bytes), so a peer can make the broker buffer
 * 256 MiB before anything looks at the packet. This guard reads only the fixed headers (MQTT 3.1.1 §2.2: one byte
 * of type and flags, then the Remaining Length in 1 to 4 bytes of 7 bits) of the byte stream as it arrives, skips
 * the bodies without keeping them, and answers with the announced size as soon as a header announces a packet
 * larger than the limit — so the connection is closed while at most one socket read of it has been buffered.
 */
export class MqttFrameGuard {
  #limit: number;
  /** 0: expecting a fixed header's first byte; 1: inside the Remaining Length; 2: skipping a body. */
  #state = 0;
  #length = 0;
  #multiplier = 1;
  #lengthBytes = 0;
  #skip = 0;

  /** `limit`: the largest whole packet (fixed header + Remaining Length bytes) accepted. */
  constructor(limit: number) {
    this.#limit = limit;
  }

  /** No limit from now on (the daemon's own link client, once it has proved who it is). */
  lift(): void {
    this.#limit = Number.POSITIVE_INFINITY;
  }

  /**
   * Feeds the next bytes of the stream. Returns undefined while every packet fits, else the size the offending
   * header announced (or NaN for a Remaining Length longer than 4 bytes, which §2.2.3 forbids).
   */
  feed(chunk: Uint8Array): number | undefined {
    let i = 0;
    while (i < chunk.length) {
      if (this.#state === 2) {
        const n = Math.min(this.#skip, chunk.length - i);
        this.#skip -= n;
        i += n;
        if (this.#skip === 0) this.#state = 0;
        continue;
      }
      const byte = chunk[i++] as number;
      if (this.#state === 0) {
        this.#state = 1;
        this.#length = 0;
        this.#multiplier = 1;
        this.#lengthBytes = 0;
        continue;
      }
      this.#length += (byte & 0x7f) * this.#multiplier;
      this.#multiplier *= 128;
      this.#lengthBytes += 1;
      if (byte & 0x80) {
        if (this.#lengthBytes === 4) return Number.NaN;
        continue;
      }
      const size = 1 + this.#lengthBytes + this.#length;
      if (size > this.#limit) return size;
      this.#skip = this.#length;
      this.#state = this.#skip === 0 ? 0 : 2;
    }
    return undefined;
  }
}
