/**
 * The daemon's side of the channel cap (message-cap.ts) for drivers whose messages arrive already decoded (a
 * worker's structured clone, the wasm host's postMessage) or framed with their length (process, docker):
 * remembers the first refusal, ends the isolate through `kill`, and turns its exit into `message-too-large`.
 * Two ways to trip it: the isolate's own host reports that it refused to send (`host.message-too-large` note,
 * host/capped-port.ts), or a message received here measures over the cap (code that got past the sandbox).
 */
import type { DaemonChannel } from '../core/channel-methods.ts';
import type { WireError } from '../core/errors.ts';
import type { IsolateExit } from './isolation-driver.ts';
import { DEFAULT_MAX_MESSAGE_BYTES, TOO_LARGE_NOTE, messageSizeOver, tooLargeBytes, tooLargeError } from './message-cap.ts';

export class ReceivedCap {
  readonly cap: number;
  readonly #kill: () => void;
  #error: WireError | undefined;

  constructor(maxMessageBytes: number | undefined, kill: () => void) {
    this.cap = maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.#kill = kill;
  }

  get tripped(): boolean {
    return this.#error !== undefined;
  }

  /** Records a refusal of `bytes` (the first one counts) and ends the isolate. */
  refuse(bytes: number): void {
    if (this.#error) return;
    this.#error = tooLargeError(bytes, this.cap);
    this.#kill();
  }

  /** Wraps a port's message handler: a message over the cap is dropped and trips the cap; nothing passes after. */
  filter(handler: (message: unknown) => void): (message: unknown) => void {
    return (message) => {
      if (this.#error) return;
      const bytes = messageSizeOver(message, this.cap);
      if (bytes === undefined) handler(message);
      else this.refuse(bytes);
    };
  }

  /** Listens for the isolate host's own report that it refused to send a message. */
  watch(channel: DaemonChannel): void {
    channel.onNote(TOO_LARGE_NOTE, (p) => this.refuse(tooLargeBytes(p) ?? this.cap + 1));
  }

  /** The isolate's exit once the cap was tripped, else undefined. */
  exit(code: number): IsolateExit | undefined {
    return this.#error ? { code: code === 0 ? 1 : code, cause: 'message-too-large', error: this.#error } : undefined;
  }
}
