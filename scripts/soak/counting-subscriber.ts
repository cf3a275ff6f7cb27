/**
 * The soak run's subscriber on the upstream broker: an independent mqtt.js client with a persistent session
 * (clean: false, a fixed client id, QoS 1), so the broker keeps what arrives while the subscriber is cut off by a
 * broker restart (MQTT 3.1.1 §3.1.2.4). It counts each agent boot's readings by sequence number (unique and
 * duplicates) and the rule's publications.
 */
import mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';

export interface BootTally {
  agentId: string;
  boot: string;
  /** Sequence numbers seen, as a bitmap (grown on demand). */
  seen: Uint8Array;
  unique: number;
  duplicates: number;
  maxSeq: number;
}

export interface CountingSubscriber {
  readonly client: MqttClient;
  readonly boots: Map<string, BootTally>;
  readonly counts: { readings: number; fired: number; malformed: number; reconnects: number };
  /** Distinct sequence numbers below `published` seen for this boot. */
  deliveredBelow(key: string, published: number): number;
  /** The first `limit` ranges of sequence numbers below `published` never seen ("120-131"), to date a loss. */
  missingBelow(key: string, published: number, limit?: number): string[];
  close(): Promise<void>;
}

export async function countingSubscriber(url: string, prefix: string): Promise<CountingSubscriber> {
  const client = await mqtt.connectAsync(url, { clientId: 'openstarry-soak-counter', clean: false, protocolVersion: 4, reconnectPeriod: 250, connectTimeout: 5000 });
  const boots = new Map<string, BootTally>();
  const counts = { readings: 0, fired: 0, malformed: 0, reconnects: 0 };
  client.on('error', () => undefined);
  client.on('connect', () => void (counts.reconnects += 1));
  client.on('message', (topic, payload) => {
    if (topic === `${prefix}out/soak/fired`) return void (counts.fired += 1);
    let m: { a?: unknown; b?: unknown; s?: unknown };
    try {
      m = JSON.parse(payload.toString()) as typeof m;
    } catch {
      return void (counts.malformed += 1);
    }
    if (typeof m.a !== 'string' || typeof m.b !== 'string' || typeof m.s !== 'number' || !Number.isInteger(m.s) || m.s < 0) return void (counts.malformed += 1);
    counts.readings += 1;
    const key = `${m.a}/${m.b}`;
    let tally = boots.get(key);
    if (tally === undefined) boots.set(key, (tally = { agentId: m.a, boot: m.b, seen: new Uint8Array(4096), unique: 0, duplicates: 0, maxSeq: -1 }));
    if (m.s >= tally.seen.length) {
      const bigger = new Uint8Array(Math.max(tally.seen.length * 2, m.s + 1));
      bigger.set(tally.seen);
      tally.seen = bigger;
    }
    if (tally.seen[m.s] === 1) {
      tally.duplicates += 1;
    } else {
      tally.seen[m.s] = 1;
      tally.unique += 1;
    }
    tally.maxSeq = Math.max(tally.maxSeq, m.s);
  });
  // A resumed session already holds the subscription; subscribing again is harmless and covers a fresh one.
  await client.subscribeAsync([`${prefix}out/soak/#`], { qos: 1 });
  return {
    client,
    boots,
    counts,
    deliveredBelow: (key, published) => {
      const tally = boots.get(key);
      if (tally === undefined) return 0;
      let n = 0;
      for (let i = 0; i < Math.min(published, tally.seen.length); i++) n += tally.seen[i] as number;
      return n;
    },
    missingBelow: (key, published, limit = 20) => {
      const seen = boots.get(key)?.seen ?? new Uint8Array(0);
      const ranges: string[] = [];
      for (let i = 0; i < published && ranges.length < limit; i++) {
        if (seen[i] === 1) continue;
        let j = i;
        while (j + 1 < published && seen[j + 1] !== 1) j++;
        ranges.push(i === j ? `${i}` : `${i}-${j}`);
        i = j;
      }
      return ranges;
    },
    close: async () => void (await client.endAsync(true)),
  };
}
