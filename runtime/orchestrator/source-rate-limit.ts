/**
 * Per-source token buckets for the orchestrator's ingress: a flood from one source (an MQTT client in a loop, a
 * bouncing input) is cut at `perSecond` (burst `burst`) without starving the others. Every `rule:<label>` source
 * shares one bucket (rule publications are already bounded by hops). At most MAX_SOURCES buckets are kept; the
 * least recently created is forgotten first.
 */
import type { Clock } from '../clock.ts';

const MAX_SOURCES = 1024;

export class SourceRateLimit {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  readonly #perSecond: number;
  readonly #burst: number;
  readonly #clock: Clock;

  /** `perSecond` 0 disables the limit. */
  constructor(perSecond: number, burst: number, clock: Clock) {
    this.#perSecond = perSecond;
    this.#burst = burst;
    this.#clock = clock;
  }

  take(source: string): boolean {
    if (this.#perSecond <= 0) return true;
    const key = source.startsWith('rule:') ? 'rules' : source;
    const now = this.#clock.now();
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      if (this.#buckets.size >= MAX_SOURCES) this.#buckets.delete(this.#buckets.keys().next().value as string);
      bucket = { tokens: this.#burst, at: now };
      this.#buckets.set(key, bucket);
    }
    bucket.tokens = Math.min(this.#burst, bucket.tokens + ((now - bucket.at) / 1000) * this.#perSecond);
    bucket.at = now;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}
