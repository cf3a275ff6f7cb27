/**
 * A token bucket for log lines from one agent: a burst is fine, a flood is cut to PER_SECOND lines and the number
 * dropped is reported once per second instead (so `openstarry logs` shows that lines are missing, and the
 * daemon's event loop and memory are not the agent's to consume).
 */
import type { Clock } from '../clock.ts';
import { TokenBucket } from '../core/token-bucket.ts';

export class LineBudget {
  static readonly PER_SECOND = 200;
  static readonly BURST = 1000;
  readonly #clock: Clock;
  readonly #onDropped: (dropped: number) => void;
  readonly #bucket: TokenBucket;
  #dropped = 0;
  #reportTimer: unknown;

  constructor(clock: Clock, onDropped: (dropped: number) => void) {
    this.#clock = clock;
    this.#onDropped = onDropped;
    this.#bucket = new TokenBucket(LineBudget.PER_SECOND, LineBudget.BURST, clock);
  }

  take(): boolean {
    if (this.#bucket.take()) return true;
    this.#dropped += 1;
    if (this.#reportTimer !== undefined) return false;
    this.#reportTimer = this.#clock.setTimeout(() => {
      this.#reportTimer = undefined;
      const dropped = this.#dropped;
      this.#dropped = 0;
      if (dropped > 0) this.#onDropped(dropped);
    }, 1000);
    return false;
  }
}
