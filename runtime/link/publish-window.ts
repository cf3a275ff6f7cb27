/**
 * The QoS 1 send window of the MQTT link (mqtt-link.ts's file comment, "Outgoing"): messages leave the persisted
 * queue in order with at most `window` unacknowledged (the broker's Receive Maximum, capped at MAX_WINDOW), and
 * each PUBACK frees a place and removes its message from the queue. mqtt-link.ts owns the connection; this file
 * owns what is in flight on it.
 */
import type { IPublishPacket, MqttClient } from 'mqtt';
import type { OutboundQueue } from './outbound-queue.ts';

export const MAX_WINDOW = 32;
/** Queue sequence numbers start at 1, so slot 0 is free for the birth message. */
const BIRTH_SLOT = 0;

/** What the window needs of the link. */
export interface WindowLink {
  /** The client to send on, its generation and the open queue; undefined unless connected. */
  sender(): { client: MqttClient; gen: number; queue: OutboundQueue } | undefined;
  /** The generation of the current connection: callbacks of an older one are stale. */
  gen(): number;
  queue(): OutboundQueue | undefined;
  publishProperties(correlationData: Buffer | undefined): { properties?: IPublishPacket['properties'] };
  /** The broker refused a message with a failure reason (counted in `rejected`). */
  refused(err: Error): void;
  /** The broker acknowledged a queued message (counted in `delivered`). */
  delivered(): void;
}

export class PublishWindow {
  readonly #link: WindowLink;
  #window = MAX_WINDOW;
  readonly #inflight = new Set<number>();
  #sentUpTo = 0;
  #pumpScheduled = false;

  constructor(link: WindowLink) {
    this.#link = link;
  }

  /** A new connection: the broker's Receive Maximum, nothing in flight, the queue sent again from its head. */
  reset(receiveMaximum: number | undefined): void {
    this.#window = Math.max(1, Math.min(MAX_WINDOW, receiveMaximum ?? MAX_WINDOW));
    this.#inflight.clear();
    this.#sentUpTo = 0;
  }

  /** The connection is gone: nothing is in flight any more. */
  clear(): void {
    this.#inflight.clear();
  }

  /**
   * The birth is a QoS 1 PUBLISH too: it holds a place of the window until its PUBACK (Receive Maximum counts
   * every unacknowledged QoS 1 PUBLISH, MQTT 5 §4.9).
   */
  holdBirth(): void {
    this.#inflight.add(BIRTH_SLOT);
  }

  releaseBirth(): void {
    this.#inflight.delete(BIRTH_SLOT);
    this.schedulePump();
  }

  pump(): void {
    const sender = this.#link.sender();
    if (sender === undefined || sender.queue.closed) return;
    const { client, gen, queue } = sender;
    const batch = queue.peekAfter(this.#sentUpTo, this.#window - this.#inflight.size);
    for (const m of batch) {
      this.#inflight.add(m.seq);
      this.#sentUpTo = m.seq;
      client.publish(m.topic, m.payload, { qos: 1, retain: m.retain, ...this.#link.publishProperties(m.correlationData) }, (err) => this.#onPubAck(gen, m.seq, err));
    }
  }

  /**
   * One pump per synchronous run, on a microtask: mqtt.js hands the PUBACKs of one socket read to #onPubAck one by
   * one (on process.nextTick), and a burst of publish() calls comes in one run. Pumping once after all of them
   * sends the freed window's messages together, and mqtt.js's cork/uncork puts them in one write(2).
   */
  schedulePump(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    queueMicrotask(() => {
      this.#pumpScheduled = false;
      this.pump();
    });
  }

  #onPubAck(gen: number, seq: number, err: Error | undefined): void {
    if (gen !== this.#link.gen()) return;
    this.#inflight.delete(seq);
    const reason = (err as { code?: unknown } | undefined)?.code;
    if (err && typeof reason === 'number') {
      // The broker answered, with a failure reason: resending would be refused again and block the queue.
      this.#link.refused(err);
      this.#link.queue()?.ack(seq);
    } else if (err) {
      return; // connection trouble: it stays queued and goes again after the reconnect
    } else {
      this.#link.delivered();
      this.#link.queue()?.ack(seq);
    }
    this.schedulePump();
  }
}
