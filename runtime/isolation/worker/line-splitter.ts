/** Splits a byte stream into lines; a line longer than `maxLine` is cut so a runaway writer cannot grow memory. */
import { StringDecoder } from 'node:string_decoder';

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
