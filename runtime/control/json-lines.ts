/**
 * Newline framing for the control socket (docs/ARCHITECTURE.md "Control plane": one JSON object per line). Counts bytes as they
 * arrive and never holds more than `maxBytes` of an unfinished line, so a client that streams a huge line
 * (or never sends a newline) costs the daemon at most `maxBytes` of memory before it is cut off.
 */

const NEWLINE = 0x0a;

export class LineFramer {
  readonly #maxBytes: number;
  readonly #onLine: (line: string) => void;
  readonly #onOverflow: () => void;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #overflowed = false;

  constructor(maxBytes: number, onLine: (line: string) => void, onOverflow: () => void) {
    this.#maxBytes = maxBytes;
    this.#onLine = onLine;
    this.#onOverflow = onOverflow;
  }

  /** True once a line went over the limit; everything after that is discarded. */
  get overflowed(): boolean {
    return this.#overflowed;
  }

  /** Bytes of an unfinished line held (a request still arriving). */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  push(chunk: Buffer): void {
    let start = 0;
    while (!this.#overflowed) {
      const nl = chunk.indexOf(NEWLINE, start);
      const end = nl === -1 ? chunk.length : nl;
      if (this.#pendingBytes + (end - start) > this.#maxBytes) {
        this.#overflow();
        return;
      }
      if (nl === -1) {
        // Keep only the unfinished tail; subarray shares memory, so copy to let the chunk be collected.
        if (end > start) {
          this.#pending.push(Buffer.from(chunk.subarray(start, end)));
          this.#pendingBytes += end - start;
        }
        return;
      }
      const piece = chunk.subarray(start, end);
      const line = this.#pending.length === 0 ? piece.toString('utf8') : Buffer.concat([...this.#pending, piece]).toString('utf8');
      this.#pending = [];
      this.#pendingBytes = 0;
      start = nl + 1;
      // Tolerate CRLF and blank keep-alive lines from hand-typed sessions (socat, nc).
      const trimmed = line.endsWith('\r') ? line.slice(0, -1) : line;
      if (trimmed.trim() !== '') this.#onLine(trimmed);
    }
  }

  #overflow(): void {
    this.#overflowed = true;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#onOverflow();
  }
}
