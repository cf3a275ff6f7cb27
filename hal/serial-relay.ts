/**
 * One agent's open serial device, daemon side. Bytes from the device are buffered up to a bound; past it the port
 * is paused (the kernel's tty buffer and the device's flow control take over) until the agent reads — nothing is
 * dropped and memory stays bounded. Reads are pull requests from the agent's ReadableStream.
 */
import type { Duplex } from 'node:stream';
import { OpenStarryError } from '../runtime/core/errors.ts';
import { HalErrorCode } from './errors.ts';

export const SERIAL_BUFFER_BYTES = 64 * 1024;

export class SerialRelay {
  readonly #stream: Duplex;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #ended = false;
  #error: Error | undefined;
  #waiters: (() => void)[] = [];
  #closed = false;
  #closedPromise: Promise<void> | undefined;

  constructor(stream: Duplex) {
    this.#stream = stream;
    stream.on('data', (chunk: Buffer) => {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
      if (this.#buffered >= SERIAL_BUFFER_BYTES) stream.pause();
      this.#wake();
    });
    stream.on('end', () => {
      this.#ended = true;
      this.#wake();
    });
    stream.on('error', (err: Error) => {
      this.#error = err;
      this.#wake();
    });
  }

  /** Everything buffered (at least one byte), or null at the end of the stream. */
  async read(): Promise<ArrayBuffer | null> {
    while (this.#chunks.length === 0) {
      if (this.#closed) throw new OpenStarryError(HalErrorCode.HANDLE_CLOSED, 'serial port is closed');
      if (this.#error) throw this.#error;
      if (this.#ended) return null;
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
    const data = Buffer.concat(this.#chunks);
    this.#chunks = [];
    this.#buffered = 0;
    if (this.#stream.isPaused()) this.#stream.resume();
    return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
  }

  write(data: ArrayBuffer): Promise<void> {
    if (this.#closed) return Promise.reject(new OpenStarryError(HalErrorCode.HANDLE_CLOSED, 'serial port is closed'));
    return new Promise((resolve, reject) => {
      this.#stream.write(Buffer.from(data), (err) => (err ? reject(err) : resolve()));
    });
  }

  /** Destroys the stream and resolves when the port behind it has closed. Idempotent. */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#closedPromise = new Promise<void>((resolve) => {
        if (this.#stream.closed) resolve();
        else this.#stream.once('close', () => resolve());
      });
      this.#stream.destroy();
      this.#wake();
    }
    return this.#closedPromise ?? Promise.resolve();
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }
}
