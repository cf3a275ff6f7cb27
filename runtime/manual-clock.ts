/**
 * A Clock whose time moves only when a test says so (docs/ARCHITECTURE.md "Injection: clock, processes, file system": inject the clock), with a count of pending
 * timers for leak checks. Shared by every test that needs backoff, grace periods or coalescing without sleeping.
 */
import type { Clock } from './clock.ts';

export class ManualClock implements Clock {
  #now: number;
  #timers = new Map<number, { at: number; fn: () => void }>();
  #next = 1;

  constructor(start = 1_700_000_000_000) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.#next++;
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

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
      const due = [...this.#timers.entries()].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.#timers.delete(due[0]);
      this.#now = Math.max(this.#now, due[1].at); // time never runs backwards (a timer overdue after stall())
      due[1].fn();
    }
    this.#now = until;
  }
}
