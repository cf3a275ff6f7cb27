/**
 * The retry of a fleet bundle fetch that failed because nobody answered (the design-layer service down, the network;
 * README "Deploying updates"): backoff on the injected clock (docs/ARCHITECTURE.md "Injection: clock, processes,
 * file system"), 5 s doubling to 5 min, jittered ±25% so a fleet that lost its service does not come back to it in
 * one burst. At most one retry waits per template (a newer document for it cancels the wait), at most MAX_TEMPLATES
 * templates wait, and a retry gives up after `maxAttempts` failures: the retained document is then tried again at
 * the next reconnect or boot, as before there was a retry.
 */
import type { Clock } from '../clock.ts';
import { unrefTimer } from '../clock.ts';

export interface RetryPolicy {
  firstMs: number;
  maxMs: number;
  /** Failures after which no retry is scheduled (300 at the 5 min cap: about a day). */
  maxAttempts: number;
}

export const DEFAULT_RETRY: RetryPolicy = { firstMs: 5_000, maxMs: 300_000, maxAttempts: 300 };

/** A bound on the templates waiting for a retry; the same as the documents waiting (fleet-deployments.ts). */
const MAX_TEMPLATES = 64;

/** The wait after the `failures`-th failure (1-based): first·2^(failures-1), capped, times 0.75..1.25 from `random` in [0, 1). */
export function retryDelay(policy: RetryPolicy, failures: number, random: number): number {
  const base = Math.min(policy.maxMs, policy.firstMs * 2 ** Math.min(Math.max(failures - 1, 0), 30));
  return Math.round(base * (0.75 + 0.5 * random));
}

export interface RetryEntry<T> {
  item: T;
  /** Failed attempts so far. */
  failures: number;
  /** Why the last attempt failed. */
  reason: string;
  /** clock.now() of the next attempt. */
  nextAt: number;
}

export class FetchRetries<T> {
  readonly #entries = new Map<string, RetryEntry<T> & { handle: unknown }>();
  readonly #clock: Clock;
  readonly #policy: RetryPolicy;
  readonly #random: () => number;
  readonly #fire: (key: string, entry: RetryEntry<T>) => void;

  constructor(o: { clock: Clock; policy: RetryPolicy; random: () => number; fire: (key: string, entry: RetryEntry<T>) => void }) {
    this.#clock = o.clock;
    this.#policy = o.policy;
    this.#random = o.random;
    this.#fire = o.fire;
  }

  /** Schedules the next attempt; the delay, or undefined when none is scheduled (attempts used up, too many templates waiting). */
  schedule(key: string, item: T, failures: number, reason: string): number | undefined {
    this.cancel(key);
    if (failures >= this.#policy.maxAttempts || this.#entries.size >= MAX_TEMPLATES) return undefined;
    const delay = retryDelay(this.#policy, failures, this.#random());
    const handle = this.#clock.setTimeout(() => {
      const entry = this.#entries.get(key);
      if (!entry || entry.handle !== handle) return;
      this.#entries.delete(key);
      this.#fire(key, { item: entry.item, failures: entry.failures, reason: entry.reason, nextAt: entry.nextAt });
    }, delay);
    // The daemon lives on without it; a test or a closing daemon is not held open by a 5-minute wait.
    unrefTimer(handle);
    this.#entries.set(key, { item, failures, reason, nextAt: this.#clock.now() + delay, handle });
    return delay;
  }

  /** Cancels the wait for `key`; what was waiting, if anything. */
  cancel(key: string): RetryEntry<T> | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    this.#clock.clearTimeout(entry.handle);
    this.#entries.delete(key);
    return { item: entry.item, failures: entry.failures, reason: entry.reason, nextAt: entry.nextAt };
  }

  list(): Array<RetryEntry<T> & { key: string }> {
    return [...this.#entries].map(([key, e]) => ({ key, item: e.item, failures: e.failures, reason: e.reason, nextAt: e.nextAt }));
  }

  /** Cancels every wait. Idempotent. */
  close(): void {
    for (const key of [...this.#entries.keys()]) this.cancel(key);
  }
}
