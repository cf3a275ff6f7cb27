/**
 * Test support: a Clock whose time moves only when the test calls advance(), so timer-driven behaviour (frame
 * rates, SIGKILL grace, flush and snapshot timeouts) is tested without sleeping or timing assertions.
 * (drivers/chips/test-support/virtual-clock.ts is the same idea for chip tests; worth merging into one shared
 * helper once both folders settle.)
 */
import type { Clock } from '../../runtime/clock.ts';

export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  readonly #timers = new Map<number, { at: number; fn: () => void }>();

  constructor(start = 1_000_000) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.#seq;
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  /** Timers not yet fired: 0 after a clean stop. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Moves time forward WITHOUT firing timers: what a blocked event loop looks like to the code under test. */
  stall(ms: number): void {
    this.#now += ms;
  }

  /** Moves time forward, firing due timers in order (including ones they set, if due). */
  advance(ms: number): void {
    const until = this.#now + ms;
    for (;;) {
      let nextId = -1;
      let next: { at: number; fn: () => void } | undefined;
      for (const [id, timer] of this.#timers) {
        if (timer.at <= until && (!next || timer.at < next.at)) {
          next = timer;
          nextId = id;
        }
      }
      if (!next) break;
      this.#timers.delete(nextId);
      this.#now = Math.max(this.#now, next.at);
      next.fn();
    }
    this.#now = until;
  }
}
