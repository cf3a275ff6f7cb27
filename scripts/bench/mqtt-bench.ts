/**
 * MQTT link benchmarks against a real mosquitto (docs/ARCHITECTURE.md "Testing against real parts"), each with its baseline measured in the same run:
 *
 *   QoS 1 throughput     N messages through the link (stored in the persisted queue, sent with a window, acked)
 *                        until the queue is empty  vs  a bare mqtt.js client publishing the same N at QoS 1, at the
 *                        link's protocol (MQTT 5), all at once. After one warm-up round, BENCH_MQTT_ROUNDS rounds
 *                        (default 15: with 5 the ratio's median moved between 0.80x and 1.05x on one build within
 *                        an hour, 2026-12-06; with 15, 0.87-0.98x), each side in turn (same load), medians. Also reported: a bare mqtt.js that keeps to the broker's Receive
 *                        Maximum as the link must (MQTT 5 §4.9; mosquitto announces 20) — the link's own overhead
 *                        apart from the flow control the bare client ignores.
 *   drain after reconnect  N=10,000 queued while the broker is down; from the link's reconnect to an empty queue
 *                        (the time from the broker's restart, backoff and connect included, is shown beside)
 *   queueing cost        pushing M messages into the append-only queue (time, bytes written)  vs  a lowdb-style
 *                        whole-file rewrite per message (JSON of the whole queue, temp file + rename, as steno does)
 *
 * The naive side rewrites a growing file per message, so its bytes grow with M²; it is measured at M = 1,000 to keep
 * a shared machine usable, the append-only queue at the same M and at 10,000.
 * Standalone: `node --import tsx scripts/bench/mqtt-bench.ts`.
 */
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { MqttLink } from '../../runtime/link/mqtt-link.ts';
import { parseMqttConfig } from '../../runtime/link/mqtt-config.ts';
import { resolveMqttSettings } from '../../runtime/link/mqtt-settings.ts';
import { OutboundQueue } from '../../runtime/link/outbound-queue.ts';
import { startMosquitto } from '../testing/mosquitto.ts';
import { hasTool } from '../testing/system-deps.ts';
import { fmt, print, rows } from './bench-table.ts';
import { median, sleep } from './measure.ts';

const PAYLOAD = Buffer.alloc(100, 0x61);

const DRAIN_TARGET = 20_000;
const THROUGHPUT_TARGET = 0.9;

async function until(cond: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('mqtt bench: timed out');
    await sleep(1);
  }
}

async function newLink(url: string, queueDir: string): Promise<MqttLink> {
  const settings = await resolveMqttSettings(parseMqttConfig({ url, startWaitMs: 5000, reconnect: { minMs: 100, maxMs: 200 }, queue: { maxMessages: 20_000, maxBytes: 64 * 2 ** 20 } }), 'bench');
  const link = new MqttLink({ settings, deviceId: 'bench', version: 'bench', queueDir });
  await link.start();
  return link;
}

/** A bare mqtt.js client publishing n at QoS 1: all at once, or with at most `window` unacknowledged. */
async function bareQos1(url: string, n: number, window = Infinity): Promise<number> {
  const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, protocolVersion: 5 });
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    let sent = 0;
    let acked = 0;
    const send = (): void => {
      while (sent < n && sent - acked < window) {
        sent++;
        client.publish('bench/bare', PAYLOAD, { qos: 1 }, (err) => {
          if (err) return reject(err);
          if (++acked === n) resolve();
          else send();
        });
      }
    };
    send();
  });
  const ms = performance.now() - t0;
  await client.endAsync();
  return ms;
}

async function linkQos1(link: MqttLink, n: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) link.publish('out/x', PAYLOAD);
  await until(() => link.state().queue.queued === 0, 120_000);
  return performance.now() - t0;
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
    const rounds = Number(process.env.BENCH_MQTT_ROUNDS ?? 15);
    const link = await newLink(broker.url, path.join(dir, 'link-queue'));
    const receiveMaximum = 20; // mosquitto's default max_inflight_messages, announced in its CONNACK
    const bare: number[] = [];
    const ours: number[] = [];
    const bareWindow: number[] = [];
    // One round not counted: the JIT warms mqtt.js, the link and the queue up the same way for all three.
    await bareQos1(broker.url, n);
    await linkQos1(link, n);
    await bareQos1(broker.url, n, receiveMaximum);
    for (let r = 0; r < rounds; r++) {
      bare.push(await bareQos1(broker.url, n));
      ours.push(await linkQos1(link, n));
      bareWindow.push(await bareQos1(broker.url, n, receiveMaximum));
    }
    const rate = (ms: number) => n / (ms / 1000);
    const shown = (ms: number) => `${Math.round(rate(ms))} msg/s`;
    const ratio = rate(median(ours)) / rate(median(bare));
    rows.push({ metric: `QoS 1 throughput (${n} x 100 B, acked), median of ${rounds}`, ours: shown(median(ours)), base: `${shown(median(bare))} (bare mqtt.js, MQTT 5, no window)`, ratio: `${ratio.toFixed(2)}x`, target: `>= ${THROUGHPUT_TARGET}x`, met: ratio >= THROUGHPUT_TARGET ? 'yes' : 'NO' });
    const ratioWindow = rate(median(ours)) / rate(median(bareWindow));
    rows.push({ metric: `  same, beside bare mqtt.js keeping to Receive Maximum ${receiveMaximum} as the link does`, ours: shown(median(ours)), base: `${shown(median(bareWindow))} (bare, window ${receiveMaximum})`, ratio: `${ratioWindow.toFixed(2)}x`, target: '-', met: '-' });

    await broker.stop();
    await until(() => link.state().state !== 'connected', 10_000);
    for (let i = 0; i < drainN; i++) link.publish('out/x', PAYLOAD);
    const t1 = performance.now();
    await broker.restart();
    await until(() => link.state().state === 'connected', 30_000);
    const t2 = performance.now();
    await until(() => link.state().queue.queued === 0, 300_000);
    const t3 = performance.now();
    const drainRate = drainN / ((t3 - t2) / 1000);
    const all = link.state().queue.dropped === 0;
    rows.push({
      metric: `drain ${drainN} queued, from reconnect to empty`,
      ours: `${fmt(t3 - t2, 'ms')} (${Math.round(drainRate)} msg/s)`,
      base: `${fmt(t3 - t1, 'ms')} from broker restart`,
      ratio: '-',
      target: `>= ${DRAIN_TARGET} msg/s, all delivered`,
      met: drainRate >= DRAIN_TARGET && all ? 'yes' : 'NO',
    });
    await link.close();
  } finally {
    await broker.kill();
    for (const entry of await readdir(dir)) await rm(path.join(dir, entry), { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const work = path.join(tmpdir(), `openstarry-mqtt-bench-${process.pid}`);
  try {
    await benchMqtt(work);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  print();
}
