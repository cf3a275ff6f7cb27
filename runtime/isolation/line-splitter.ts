/**
 * An isolate's stdout/stderr as lines (console.log in agent code -> `openstarry logs`), the same for every driver
 * that has a byte stream (worker, process, docker). A line longer than `maxLine` characters is cut (README "Resource limits"):
 * its head is kept, the rest is counted and dropped as it arrives, and the line ends with `… [cut N chars]`, so a
 * runaway writer can neither grow the daemon's memory nor flood the log with the pieces of one line.
 */
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { cutMarker } from '../core/message-size.ts';

/** Longest output line kept, as for ctx.log lines (core/agent-core.ts LOG_MAX_CHARS). */
export const MAX_LINE_CHARS = 8 * 1024;

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
  /** Characters of the current line dropped beyond maxLine. */
  #cut = 0;

  constructor(onLine: (line: string) => void, maxLine = MAX_LINE_CHARS) {
    this.#onLine = onLine;
    this.#maxLine = maxLine;
  }

  push(chunk: Buffer | string): void {
    let text = typeof chunk === 'string' ? chunk : this.#decoder.write(chunk);
    let nl: number;
    while ((nl = text.indexOf('\n')) !== -1) {
      this.#add(text.slice(0, nl));
      this.#emit(this.#buffer.replace(/\r$/, ''));
      text = text.slice(nl + 1);
    }
    this.#add(text);
  }

  end(): void {
    this.#add(this.#decoder.end());
    if (this.#buffer.length > 0 || this.#cut > 0) this.#emit(this.#buffer);
  }

  #add(text: string): void {
    const room = this.#maxLine - this.#buffer.length;
    if (text.length <= room) {
      this.#buffer += text;
      return;
    }
    this.#buffer += text.slice(0, Math.max(0, room));
    this.#cut += text.length - Math.max(0, room);
  }

  #emit(line: string): void {
    this.#onLine(this.#cut > 0 ? `${line}${cutMarker(this.#cut)}` : line);
    this.#buffer = '';
    this.#cut = 0;
  }
}
