/**
 * IInternalBus: in-agent pub/sub between an agent's plugins (spec 000 §3.2). Topics published with
 * `{ retain: true }` keep their last payload; together they form the agent's snapshot, which the daemon pulls
 * periodically to project a global view. Pure: no node:* imports.
 */
export type BusHandler = (payload: unknown, topic: string) => void;

export interface IInternalBus {
  /** Delivers to every matching subscriber on a later microtask, so a publisher never re-enters itself. */
  publish(topic: string, payload: unknown, options?: { retain?: boolean }): void;
  /** `topic` is exact, or ends in `/*` (one or more trailing levels) or is `*` (everything). */
  subscribe(topic: string, handler: BusHandler): () => void;
  /** The retained topics and their last payloads (a structured-clone-safe copy). */
  snapshot(): Record<string, unknown>;
}

export function topicMatches(pattern: string, topic: string): boolean {
  if (pattern === '*' || pattern === topic) return true;
  if (pattern.endsWith('/*')) return topic.startsWith(pattern.slice(0, -1));
  return false;
}

export class InternalBus implements IInternalBus {
  readonly #subscribers = new Set<{ pattern: string; handler: BusHandler }>();
  readonly #retained = new Map<string, unknown>();
  readonly #onHandlerError: (err: unknown, topic: string) => void;

  constructor(onHandlerError: (err: unknown, topic: string) => void) {
    this.#onHandlerError = onHandlerError;
  }

  publish(topic: string, payload: unknown, options?: { retain?: boolean }): void {
    if (typeof topic !== 'string' || topic.length === 0) throw new TypeError('bus.publish: topic must be a non-empty string');
    if (options?.retain === true) this.#retained.set(topic, payload);
    const targets = [...this.#subscribers].filter((s) => topicMatches(s.pattern, topic));
    if (targets.length === 0) return;
    queueMicrotask(() => {
      for (const s of targets) {
        if (!this.#subscribers.has(s)) continue;
        try {
          s.handler(payload, topic);
        } catch (err) {
          this.#onHandlerError(err, topic);
        }
      }
    });
  }

  subscribe(topic: string, handler: BusHandler): () => void {
    const entry = { pattern: topic, handler };
    this.#subscribers.add(entry);
    return () => {
      this.#subscribers.delete(entry);
    };
  }

  snapshot(): Record<string, unknown> {
    return structuredClone(Object.fromEntries(this.#retained));
  }

  clear(): void {
    this.#subscribers.clear();
  }
}
