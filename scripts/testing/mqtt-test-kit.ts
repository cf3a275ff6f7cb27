/**
 * Helpers shared by the MQTT link tests: an independent mqtt.js subscriber that records what arrives, a poll
 * that waits for a condition (no fixed sleeps), and a link built against a test broker.
 */
import mqtt from 'mqtt';
import type { IClientOptions, MqttClient } from 'mqtt';

export interface Received {
  topic: string;
  payload: string;
  retain: boolean;
  properties?: { correlationData?: Buffer; responseTopic?: string };
}

export interface Recorder {
  readonly client: MqttClient;
  readonly messages: Received[];
  close(): Promise<void>;
}

/** Connects an independent client, subscribes `filters` (QoS 1) and records every message. */
export async function recordMessages(url: string, filters: string[], options: IClientOptions = {}): Promise<Recorder> {
  const client = await mqtt.connectAsync(url, { reconnectPeriod: 200, connectTimeout: 5000, ...options });
  const messages: Received[] = [];
  client.on('message', (topic, payload, packet) => {
    const r: Received = { topic, payload: payload.toString(), retain: packet.retain };
    if (packet.properties) r.properties = packet.properties;
    messages.push(r);
  });
  client.on('error', () => undefined);
  if (filters.length > 0) await client.subscribeAsync(filters, { qos: 1 });
  return { client, messages, close: async () => void (await client.endAsync(true)) };
}

/** Polls `condition` every 10 ms until it holds; throws with `what` after `timeoutMs`. */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Connects like a local program would (MQTT 3.1.1, no reconnect); resolves with the client, or the CONNECT's error. */
export function connectOrError(url: string, options: IClientOptions = {}): Promise<MqttClient | Error> {
  return mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, ...options }).catch((err: Error) => err);
}

/** A QoS 1 publish: 'acked', or 'closed' when the broker closed the connection instead (MQTT 3.1.1 §3.3.5). */
export function publishOrClosed(c: MqttClient, topic: string, payload: string | Buffer, retain = false): Promise<'acked' | 'closed'> {
  return new Promise((resolve) => {
    const onClose = () => resolve('closed');
    c.once('close', onClose);
    c.publish(topic, payload, { qos: 1, retain }, (err) => {
      c.off('close', onClose);
      resolve(err ? 'closed' : 'acked');
    });
  });
}
