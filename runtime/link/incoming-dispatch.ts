/**
 * Incoming messages of the MQTT link: the subscription table (filter -> handlers), the size limit, payload
 * decoding and validation at the boundary (docs/ARCHITECTURE.md "Validation at the boundary"), and the counters `status` shows. A bad message — too
 * large, not UTF-8, not JSON, failing its schema — is dropped and counted; a handler that throws or rejects is
 * logged and counted. Nothing here may throw into mqtt.js's event handler: that would crash the daemon.
 */
import type * as z from 'zod/mini';
import type { Logger } from '../logging/logger.ts';
import { topicMatches } from './mqtt-topics.ts';

export interface IncomingMessage<T = unknown> {
  /** The full topic. */
  topic: string;
  /** The topic with the link's prefix removed, when it is under the prefix. */
  relativeTopic?: string;
  payload: Buffer;
  /** The decoded payload when the subscription asked for `json` or a `schema`. */
  data: T;
  retain: boolean;
  qos: 0 | 1 | 2;
  /** MQTT 5 request/response (§4.10): where the requester wants the answer, and the data to echo with it. */
  responseTopic?: string;
  correlationData?: Buffer;
  /**
   * Answers a request: publishes to the message's response topic with its correlation data. Without a response
   * topic (MQTT 3.1.1, or a requester that set none) `fallbackCorrelation` sends to `<prefix>reply/<correlation>`
   * (README "MQTT, remote triggers and rules"); with neither it throws ERR_LINK_NO_RESPONSE_TOPIC.
   */
  reply(payload: Buffer | string, options?: { qos?: 0 | 1; fallbackCorrelation?: string }): void;
}

export type MessageHandler<T = unknown> = (message: IncomingMessage<T>) => void | Promise<void>;

export interface SubscribeOptions<T = unknown> {
  qos?: 0 | 1;
  /** `filter` is a full topic filter (e.g. `openstarry/all/event/#`), not relative to the prefix. */
  absolute?: boolean;
  /** Decode the payload as UTF-8 JSON into `data`; a payload that is not is dropped and counted. */
  json?: boolean;
  /** Decode as JSON and validate; implies `json`. */
  schema?: z.ZodMiniType<T>;
}

export interface IncomingCounters {
  received: number;
  delivered: number;
  oversized: number;
  malformed: number;
  /** Messages that matched no handler (e.g. a retained message for a filter unsubscribed meanwhile). */
  unmatched: number;
  handlerErrors: number;
}

interface Subscription {
  readonly filter: string;
  readonly handler: MessageHandler<unknown>;
  readonly options: SubscribeOptions<unknown>;
}

export interface RawIncoming {
  topic: string;
  payload: Buffer;
  retain: boolean;
  qos: 0 | 1 | 2;
  responseTopic?: string;
  correlationData?: Buffer;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export class IncomingDispatch {
  readonly #subs = new Map<string, Subscription[]>();
  readonly #maxBytes: number;
  readonly #prefix: string;
  readonly #log: Logger | undefined;
  readonly counters: IncomingCounters = { received: 0, delivered: 0, oversized: 0, malformed: 0, unmatched: 0, handlerErrors: 0 };

  constructor(options: { maxIncomingBytes: number; topicPrefix: string; log?: Logger }) {
    this.#maxBytes = options.maxIncomingBytes;
    this.#prefix = options.topicPrefix;
    this.#log = options.log;
  }

  get dropped(): number {
    return this.counters.oversized + this.counters.malformed;
  }

  /** Adds a handler; true when the filter is new (the caller must SUBSCRIBE it at the broker). */
  add(filter: string, handler: MessageHandler<unknown>, options: SubscribeOptions<unknown>): { isNew: boolean; remove: () => boolean } {
    const list = this.#subs.get(filter) ?? [];
    const sub: Subscription = { filter, handler, options };
    list.push(sub);
    this.#subs.set(filter, list);
    const remove = (): boolean => {
      const current = this.#subs.get(filter);
      if (!current) return false;
      const i = current.indexOf(sub);
      if (i >= 0) current.splice(i, 1);
      if (current.length > 0) return false;
      this.#subs.delete(filter);
      return true; // last handler gone: the caller UNSUBSCRIBEs
    };
    return { isNew: list.length === 1, remove };
  }

  /** Every filter with the highest QoS any of its handlers asked for: what a (re)connect subscribes. */
  filters(): { filter: string; qos: 0 | 1 }[] {
    return [...this.#subs.entries()].map(([filter, list]) => ({ filter, qos: list.some((s) => s.options.qos === 1) ? 1 : 0 }));
  }

  qosOf(filter: string): 0 | 1 {
    return this.#subs.get(filter)?.some((s) => s.options.qos === 1) ? 1 : 0;
  }

  dispatch(raw: RawIncoming, reply: (raw: RawIncoming, payload: Buffer | string, options?: { qos?: 0 | 1; fallbackCorrelation?: string }) => void): void {
    this.counters.received++;
    if (raw.payload.length > this.#maxBytes) {
      this.counters.oversized++;
      this.#log?.warn('mqtt: dropped an oversized incoming message', { topic: raw.topic.slice(0, 200), bytes: raw.payload.length, max: this.#maxBytes });
      return;
    }
    let matched = false;
    let malformed = false;
    for (const [filter, list] of this.#subs) {
      if (!topicMatches(filter, raw.topic)) continue;
      for (const sub of [...list]) {
        matched = true;
        const decoded = decode(raw.payload, sub.options);
        if (!decoded.ok) {
          if (!malformed) this.#log?.warn('mqtt: dropped a malformed incoming message', { topic: raw.topic.slice(0, 200), error: decoded.error });
          malformed = true;
          continue;
        }
        this.#deliver(sub, raw, decoded.data, reply);
      }
    }
    if (malformed) this.counters.malformed++;
    if (!matched) this.counters.unmatched++;
  }

  #deliver(sub: Subscription, raw: RawIncoming, data: unknown, reply: Parameters<IncomingDispatch['dispatch']>[1]): void {
    const message: IncomingMessage<unknown> = {
      topic: raw.topic,
      payload: raw.payload,
      data,
      retain: raw.retain,
      qos: raw.qos,
      reply: (payload, options) => reply(raw, payload, options),
    };
    if (raw.topic.startsWith(this.#prefix)) message.relativeTopic = raw.topic.slice(this.#prefix.length);
    if (raw.responseTopic !== undefined) message.responseTopic = raw.responseTopic;
    if (raw.correlationData !== undefined) message.correlationData = raw.correlationData;
    const failed = (err: unknown): void => {
      this.counters.handlerErrors++;
      this.#log?.error('mqtt: a message handler failed', { filter: sub.filter, topic: raw.topic.slice(0, 200), error: (err as Error)?.message ?? String(err) });
    };
    try {
      const result = sub.handler(message);
      this.counters.delivered++;
      if (result instanceof Promise) result.catch(failed);
    } catch (err) {
      failed(err);
    }
  }
}

function decode(payload: Buffer, options: SubscribeOptions<unknown>): { ok: true; data: unknown } | { ok: false; error: string } {
  if (!options.json && !options.schema) return { ok: true, data: undefined };
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(payload));
  } catch (err) {
    return { ok: false, error: `not UTF-8 JSON: ${(err as Error).message}` };
  }
  if (!options.schema) return { ok: true, data: value };
  const result = options.schema.safeParse(value);
  if (result.success) return { ok: true, data: result.data };
  return { ok: false, error: result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ') };
}
