/**
 * Crash-loop quarantine (issue 6): the failures of one restart series, so that when the restart policy gives up
 * (maxRestarts consecutive failures, each after less than STABLE_RUN_MS of running — restart-policy.ts) the
 * agent is quarantined with the whole series in the log, not only its last reason.
 *
 * A quarantined instance stays `crashed` with `quarantined: true` and a reason starting `quarantined: `; nothing
 * restarts it (the restart policy is done, the desired-agents journal drops crashed agents, so a daemon restart
 * does not bring it back either) until someone spawns the agent again, which starts a new instance and series.
 */

/** Failures kept per series for the log (the count is exact; the oldest beyond this are summarised). */
export const SERIES_KEEP = 20;

export interface SeriesFailure {
  at: number;
  reason: string;
}

export class RestartSeries {
  #failures: SeriesFailure[] = [];
  #count = 0;

  /** Records a failure; `fresh` starts a new series first (the isolate had run long enough to count as stable). */
  record(failure: SeriesFailure, fresh: boolean): void {
    if (fresh) this.reset();
    this.#count += 1;
    this.#failures.push(failure);
    if (this.#failures.length > SERIES_KEEP) this.#failures.shift();
  }

  reset(): void {
    this.#failures = [];
    this.#count = 0;
  }

  get count(): number {
    return this.#count;
  }

  /** One line: every failure with its time offset from the first kept one. */
  describe(): string {
    const first = this.#failures[0];
    if (!first) return 'no failures';
    const omitted = this.#count - this.#failures.length;
    const parts = this.#failures.map((f, i) => `#${omitted + i + 1} +${((f.at - first.at) / 1000).toFixed(1)}s ${f.reason}`);
    const span = ((this.#failures.at(-1)?.at ?? first.at) - first.at) / 1000;
    return `${this.#count} failure(s) in ${span.toFixed(1)}s${omitted > 0 ? ` (first ${omitted} not kept)` : ''}: ${parts.join(' | ')}`;
  }
}
