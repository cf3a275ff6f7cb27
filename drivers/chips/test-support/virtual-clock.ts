/**
 * A Clock for tests (docs/ARCHITECTURE.md "Injection: clock, processes, file system"): time moves only when the test says so (`advance`), or — in auto mode — jumps
 * straight to the next due timer on a later event-loop turn, so a driver's datasheet waits (10 ms conversion,
 * 15 ms SHT31 measurement) finish at once in virtual time without any real sleeping.
 */
import type { Clock } from '../../../runtime/clock.ts';

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
}

export class VirtualClock implements Clock {
  #now: number;
  #seq = 0;
  readonly #timers = new Map<number, Timer>();
  #auto = false;
  #autoScheduled = false;

  constructor(start = 1_700_000_000_000) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.#seq;
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), seq: id, fn });
    this.#scheduleAuto();
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  /** Timers not yet fired (a test's leak check: 0 after close). */
  get pending(): number {
    return this.#timers.size;
  }

  /** Auto mode: every timer fires on a later turn as soon as it is the earliest, time jumping to it. */
  set auto(on: boolean) {
    this.#auto = on;
    this.#scheduleAuto();
  }

  /** Moves time forward by `ms`, firing due timers in time order (timers they set fire too if due). */
  advance(ms: number): void {
    const until = this.#now + ms;
    for (let next = this.#earliest(); next !== undefined && next.at <= until; next = this.#earliest()) {
      this.#fire(next);
    }
    this.#now = until;
  }

  /** advance() in steps, letting promise chains and setImmediate callbacks run between them. */
  async advanceAsync(ms: number, stepMs = 1): Promise<void> {
    for (let done = 0; done < ms; done += stepMs) {
      this.advance(Math.min(stepMs, ms - done));
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  #earliest(): Timer | undefined {
    let best: Timer | undefined;
    for (const timer of this.#timers.values()) {
      if (best === undefined || timer.at < best.at || (timer.at === best.at && timer.seq < best.seq)) best = timer;
    }
    return best;
  }

  #fire(timer: Timer): void {
    this.#timers.delete(timer.seq);
    this.#now = Math.max(this.#now, timer.at);
    timer.fn();
  }

  #scheduleAuto(): void {
    if (!this.#auto || this.#autoScheduled || this.#timers.size === 0) return;
    this.#autoScheduled = true;
    setImmediate(() => {
      this.#autoScheduled = false;
      if (!this.#auto) return;
      const next = this.#earliest();
      if (next !== undefined) this.#fire(next);
      this.#scheduleAuto();
    });
  }
}
