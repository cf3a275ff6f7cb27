/**
 * An isolate's stdout/stderr as lines (console.log in agent code -> `openstarry logs`), the same for every driver
 * that has a byte stream (worker, process, docker). A line longer than `maxLine` is cut so a runaway writer cannot
 * grow the daemon's memory.
 */
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

/** Feeds `stream` into a LineSplitter until it ends. */
export function pipeLines(stream: Readable | null | undefined, onLine: (line: string) => void): void {
  if (!stream) return;
  const splitter = new LineSplitter(onLine);
  stream.on('data', (chunk: Buffer) => splitter.push(chunk));
  stream.on('end', () => splitter.end());
}

export class LineSplitter {
  readonly #onLine: (line: string) => void;
  readonly #maxLine: number;
  readonly #decoder = new StringDecoder('utf8');
  #buffer = '';

  constructor(onLine: (line: string) => void, maxLine = 16 * 1024) {
    this.#onLine = onLine;
    this.#maxLine = maxLine;
  }

  push(chunk: Buffer | string): void {
    this.#buffer += typeof chunk === 'string' ? chunk : this.#decoder.write(chunk);
    let nl: number;
    while ((nl = this.#buffer.indexOf('\n')) !== -1) {
      this.#onLine(this.#buffer.slice(0, nl).replace(/\r$/, ''));
      this.#buffer = this.#buffer.slice(nl + 1);
    }
    while (this.#buffer.length > this.#maxLine) {
      this.#onLine(this.#buffer.slice(0, this.#maxLine));
      this.#buffer = this.#buffer.slice(this.#maxLine);
    }
  }

  end(): void {
    this.#buffer += this.#decoder.end();
    if (this.#buffer.length > 0) this.#onLine(this.#buffer);
    this.#buffer = '';
  }
}
