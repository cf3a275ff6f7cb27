/**
 * Per-source token buckets for the orchestrator's ingress: a flood from one source (an MQTT client in a loop, a
 * bouncing input) is cut at `perSecond` (burst `burst`) without starving the others. Every `rule:<label>` source
 * shares one bucket (rule publications are already bounded by hops). At most MAX_SOURCES buckets are kept; the
 * least recently created is forgotten first (runtime/core/token-bucket.ts).
 */
import type { Clock } from '../clock.ts';
import { KeyedTokenBuckets } from '../core/token-bucket.ts';

const MAX_SOURCES = 1024;

export class SourceRateLimit {
  readonly #buckets: KeyedTokenBuckets;

  /** `perSecond` 0 disables the limit. */
  constructor(perSecond: number, burst: number, clock: Clock) {
    this.#buckets = new KeyedTokenBuckets(perSecond, burst, clock, MAX_SOURCES);
  }

  take(source: string): boolean {
    return this.#buckets.take(source.startsWith('rule:') ? 'rules' : source);
  }
}
