/**
 * The link's retry delay: capped exponential backoff with "equal jitter" — half the step is fixed, half random —
 * so a fleet of boards that lost the same broker does not come back in lock-step, yet no board retries sooner
 * than half its step. `random` is injected (docs/ARCHITECTURE.md "Injection: clock, processes, file system") so tests can pin it.
 */
export interface BackoffOptions {
  minMs: number;
  maxMs: number;
  random?: () => number;
}

/** Delay before retry number `attempt` (0 = the first retry after a loss). */
export function backoffDelay(attempt: number, options: BackoffOptions): number {
  const random = options.random ?? Math.random;
  const step = Math.min(options.maxMs, options.minMs * 2 ** Math.min(attempt, 30));
  const r = Math.min(1, Math.max(0, random()));
  return Math.round(step / 2 + (step / 2) * r);
}
