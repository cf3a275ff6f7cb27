/**
 * The one rate limiter: a token bucket on the injected clock (runtime/clock.ts; anything with now() in ms). It holds at most `burst` tokens and refills at
 * `perSecond`; each take() spends one, so a short burst passes and a flood is cut to the rate. Used by the
 * orchestrator's ingress (per source), the agents' events.publish and log lines (both ends of the channel), the
 * actuators' command limit and the embedded broker's publish rate.
 *
 * It lives in runtime/core and imports nothing, not even the Clock type (runtime/core is pure): agent-core.ts uses
 * it inside the isolate, whose bundle stays small, and every other layer may import core.
 */

/** What the bucket needs of a Clock: milliseconds, monotonic. */
export interface NowSource {
  now(): number;
}

export class TokenBucket {
  readonly perSecond: number;
  readonly burst: number;
  readonly #clock: NowSource;
  #tokens: number;
  #at: number;

  /** Starts full. */
  constructor(perSecond: number, burst: number, clock: NowSource) {
    this.perSecond = perSecond;
    this.burst = burst;
    this.#clock = clock;
    this.#tokens = burst;
    this.#at = clock.now();
  }

  /** Spends a token if there is one; false when the rate is exceeded. */
  take(): boolean {
    const now = this.#clock.now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#at) / 1000) * this.perSecond);
    this.#at = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

/**
 * One bucket per key (a client, a source, a reason), so a flood from one is cut without starving the others. At
 * most `maxKeys` buckets are kept; the least recently created is forgotten first. `perSecond` 0 disables the limit.
 */
export class KeyedTokenBuckets {
  readonly #buckets = new Map<string, TokenBucket>();
  readonly #perSecond: number;
  readonly #burst: number;
  readonly #clock: NowSource;
  readonly #maxKeys: number;

  constructor(perSecond: number, burst: number, clock: NowSource, maxKeys = 1024) {
    this.#perSecond = perSecond;
    this.#burst = burst;
    this.#clock = clock;
    this.#maxKeys = maxKeys;
  }

  take(key: string): boolean {
    if (this.#perSecond <= 0) return true;
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      if (this.#buckets.size >= this.#maxKeys) this.#buckets.delete(this.#buckets.keys().next().value as string);
      bucket = new TokenBucket(this.#perSecond, this.#burst, this.#clock);
      this.#buckets.set(key, bucket);
    }
    return bucket.take();
  }

  get size(): number {
    return this.#buckets.size;
  }
}
