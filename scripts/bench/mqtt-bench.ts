/**
 * MQTT link benchmarks against a real mosquitto (TESTING.md), each with its baseline measured in the same run:
 *
 *   QoS 1 throughput     N messages through the link (stored in the persisted queue, sent with a window, acked)
 *                        until the queue is empty  vs  a bare mqtt.js client publishing the same N at QoS 1
 *   drain after reconnect  N=10,000 queued while the broker is down; from broker restart to an empty queue
 *   queueing cost        pushing M messages into the append-only queue (time, bytes written)  vs  a lowdb-style
 *                        whole-file rewrite per message (JSON of the whole queue, temp file + rename, as steno does)
 *
 * The naive side rewrites a growing file per message, so its bytes grow with M²; it is measured at M = 1,000 to keep
 * a shared machine usable, the append-only queue at the same M and at 10,000.
 */
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import mqtt from 'mqtt';
import { MqttLink } from '../../runtime/link/mqtt-link.ts';
import { parseMqttConfig } from '../../runtime/link/mqtt-config.ts';
import { resolveMqttSettings } from '../../runtime/link/mqtt-settings.ts';
import { OutboundQueue } from '../../runtime/link/outbound-queue.ts';
import { startMosquitto } from '../testing/mosquitto.ts';
import { hasTool } from '../testing/system-deps.ts';
import { fmt, rows } from './bench-table.ts';
import { sleep } from './measure.ts';

const PAYLOAD = Buffer.alloc(100, 0x61);

async function until(cond: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('mqtt bench: timed out');
    await sleep(2);
  }
}

async function newLink(url: string, queueDir: string): Promise<MqttLink> {
  const settings = await resolveMqttSettings(parseMqttConfig({ url, startWaitMs: 5000, reconnect: { minMs: 100, maxMs: 200 }, queue: { maxMessages: 20_000, maxBytes: 64 * 2 ** 20 } }), 'bench');
  const link = new MqttLink({ settings, deviceId: 'bench', version: 'bench', queueDir });
  await link.start();
  return link;
}

async function bareQos1(url: string, n: number): Promise<number> {
  const client = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
  const t0 = performance.now();
  await Promise.all(Array.from({ length: n }, () => client.publishAsync('bench/bare', PAYLOAD, { qos: 1 })));
  const ms = performance.now() - t0;
  await client.endAsync();
  return ms;
}

async function naiveRewrite(dir: string, m: number): Promise<{ ms: number; bytes: number }> {
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, 'queue.json');
  const queue: { topic: string; payload: string; seq: number }[] = [];
  let bytes = 0;
  const t0 = performance.now();
  for (let i = 0; i < m; i++) {
    queue.push({ topic: 'openstarry/bench/out/x', payload: PAYLOAD.toString('base64'), seq: i });
    const text = JSON.stringify(queue);
    await writeFile(`${file}.tmp`, text);
    await rename(`${file}.tmp`, file);
    bytes += Buffer.byteLength(text);
  }
  return { ms: performance.now() - t0, bytes };
}

async function appendOnly(dir: string, m: number): Promise<{ ms: number; bytes: number }> {
  const q = await OutboundQueue.open({ dir, maxMessages: m, maxBytes: 256 * 2 ** 20 });
  const t0 = performance.now();
  for (let i = 0; i < m; i++) q.push('openstarry/bench/out/x', PAYLOAD);
  const ms = performance.now() - t0;
  const bytes = q.stats().fileBytes;
  await q.close();
  return { ms, bytes };
}

/** Adds the MQTT rows to the bench table. Skips (with a row saying so) when mosquitto is not installed. */
export async function benchMqtt(work: string, options: { throughputN?: number; drainN?: number } = {}): Promise<void> {
  const n = options.throughputN ?? 5000;
  const drainN = options.drainN ?? 10_000;
  const dir = path.join(work, 'mqtt');
  await mkdir(dir, { recursive: true });

  const kib = (b: number) => `${(b / 1024).toFixed(0)} KiB`;
  for (const m of [1000]) {
    const ours = await appendOnly(path.join(dir, `q-${m}`), m);
    const naive = await naiveRewrite(path.join(dir, `naive-${m}`), m);
    rows.push({ metric: `queue ${m} msgs: time`, ours: fmt(ours.ms, 'ms'), base: `${fmt(naive.ms, 'ms')} (rewrite/msg)`, ratio: `${(naive.ms / ours.ms).toFixed(0)}x faster`, target: '-', met: '-' });
    rows.push({ metric: `queue ${m} msgs: bytes written`, ours: kib(ours.bytes), base: kib(naive.bytes), ratio: `${(naive.bytes / ours.bytes).toFixed(0)}x less`, target: '-', met: '-' });
  }
  const big = await appendOnly(path.join(dir, 'q-10000'), 10_000);
  rows.push({ metric: 'queue 10000 msgs (append-only)', ours: `${fmt(big.ms, 'ms')}, ${kib(big.bytes)}`, base: '-', ratio: '-', target: 'cheap', met: big.ms < 2000 ? 'yes' : 'NO' });

  if (!hasTool('mosquitto')) {
    rows.push({ metric: 'MQTT link vs mosquitto', ours: 'skipped', base: 'mosquitto not installed', ratio: '-', target: '-', met: '-' });
    return;
  }
  const broker = await startMosquitto({ dir: path.join(dir, 'broker') });
  try {
    const bareMs = await bareQos1(broker.url, n);
    const link = await newLink(broker.url, path.join(dir, 'link-queue'));
    const t0 = performance.now();
    for (let i = 0; i < n; i++) link.publish('out/x', PAYLOAD);
    await until(() => link.state().queue.queued === 0, 120_000);
    const linkMs = performance.now() - t0;
    const rate = (ms: number) => `${Math.round(n / (ms / 1000))} msg/s`;
    rows.push({ metric: `QoS 1 throughput (${n} x 100 B, acked)`, ours: rate(linkMs), base: `${rate(bareMs)} (bare mqtt.js)`, ratio: `${(bareMs / linkMs).toFixed(2)}x`, target: '-', met: '-' });

    await broker.stop();
    await until(() => link.state().state !== 'connected', 10_000);
    for (let i = 0; i < drainN; i++) link.publish('out/x', PAYLOAD);
    const t1 = performance.now();
    await broker.restart();
    await until(() => link.state().queue.queued === 0, 300_000);
    const drainMs = performance.now() - t1;
    rows.push({ metric: `drain ${drainN} queued after reconnect`, ours: `${fmt(drainMs, 'ms')} (${Math.round(drainN / (drainMs / 1000))} msg/s)`, base: '-', ratio: '-', target: `${drainN} delivered`, met: link.state().queue.dropped === 0 ? 'yes' : 'NO' });
    await link.close();
  } finally {
    await broker.kill();
    for (const entry of await readdir(dir)) await rm(path.join(dir, entry), { recursive: true, force: true });
  }
}
