/**
 * The CPU limit (README "Resource limits", `limits.cpuPercent`, a share of one core): the worker and process drivers cannot
 * throttle a thread or a child portably (that needs cgroups, which an unprivileged daemon on a stock Pi image does
 * not own), so the supervisor watches the usage samples instead and stops an agent that stays over its limit for a
 * sustained window. A short spike (a burst shorter than the window) is allowed. Drivers that throttle the isolate
 * themselves (docker through NanoCpus) say so with `enforcesCpuLimit` and are not watched.
 *
 * A sample's cpuPercent covers the interval since the previous sample, so an over-limit streak starts at the
 * previous sample's time; the streak must cover `windowMs` (in practice max(windowMs, usageIntervalMs)).
 * A limit of 100 (the manifest default: a whole core) is not watched: the schema cannot express more, and a
 * process isolate's own GC and compiler threads can read above 100% for a single-threaded agent.
 */

export const UNLIMITED_CPU_PERCENT = 100;

export class CpuWatch {
  readonly limitPercent: number;
  readonly windowMs: number;
  #lastAt: number;
  /** The over-limit streak: since when, and the time-weighted sum of its samples. */
  #streak: { since: number; weighted: number } | undefined;

  constructor(limitPercent: number, windowMs: number, now: number) {
    this.limitPercent = limitPercent;
    this.windowMs = windowMs;
    this.#lastAt = now;
  }

  get watching(): boolean {
    return this.limitPercent < UNLIMITED_CPU_PERCENT;
  }

  /** A new isolate (start or policy restart): the next sample covers the time from `now`. */
  reset(now: number): void {
    this.#lastAt = now;
    this.#streak = undefined;
  }

  /** Records a sample taken at `now`; returns the `cpu-limit: ...` reason when the limit was exceeded long enough. */
  sample(cpuPercent: number, now: number): string | undefined {
    const from = this.#lastAt;
    this.#lastAt = now;
    if (!this.watching || !(cpuPercent > this.limitPercent)) {
      this.#streak = undefined;
      return undefined;
    }
    const streak = (this.#streak ??= { since: from, weighted: 0 });
    streak.weighted += cpuPercent * Math.max(0, now - from);
    const duration = now - streak.since;
    if (duration < this.windowMs) return undefined;
    const average = duration > 0 ? streak.weighted / duration : cpuPercent;
    return `cpu-limit: ${average.toFixed(1)}% for ${(duration / 1000).toFixed(1)}s, limit ${this.limitPercent}%`;
  }
}
