/**
 * Restart policy (README "What it is", `restart`): never | on-failure | always, exponential backoff from `backoffMs`,
 * at most `maxRestarts` consecutive restarts, then the agent stays `crashed` (or `exited`).
 *
 * "Consecutive": a failure after the agent ran for STABLE_RUN_MS starts a new series, so an agent that crashes
 * once a week on a board left alone for months is not given up on after maxRestarts weeks.
 */
import type { RestartPolicy } from '../design/manifest-schema.ts';

export const STABLE_RUN_MS = 10 * 60_000;
export const MAX_BACKOFF_MS = 5 * 60_000;

export interface RestartDecision {
  restart: boolean;
  delayMs: number;
  /** Set when the policy would restart but the series is exhausted. */
  exhausted: boolean;
}

/**
 * @param failed the isolate crashed (non-zero exit or error); false for a clean end of its own accord
 * @param attempt how many restarts this series has had already (0 for the first failure)
 */
export function decideRestart(policy: RestartPolicy, failed: boolean, attempt: number): RestartDecision {
  const wants = policy.policy === 'always' || (policy.policy === 'on-failure' && failed);
  if (!wants) return { restart: false, delayMs: 0, exhausted: false };
  if (attempt >= policy.maxRestarts) return { restart: false, delayMs: 0, exhausted: true };
  const delayMs = Math.min(policy.backoffMs * 2 ** attempt, Math.max(policy.backoffMs, MAX_BACKOFF_MS));
  return { restart: true, delayMs, exhausted: false };
}

/** The attempt number for the next decision, given how long the isolate had been up when it ended. */
export function nextAttempt(previousAttempt: number, uptimeMs: number): number {
  return uptimeMs >= STABLE_RUN_MS ? 0 : previousAttempt;
}
