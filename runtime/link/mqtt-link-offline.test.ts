// The link while the broker is away, against a real mosquitto: messages published across a broker outage arrive
// complete and in order; a queue left by a closed link is drained, in order, by the next one; and the retained
// last will replaces the birth when the process running the link is SIGKILLed.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { startMosquitto } from '../../scripts/testing/mosquitto.ts';
import { recordMessages, waitFor } from '../../scripts/testing/mqtt-test-kit.ts';
import { requireTool } from '../../scripts/testing/system-deps.ts';
import { makeLink } from './link.test-support.ts';

async function scratch(t: Test): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'os-link-offline-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** First occurrence of each payload, in arrival order, and how many arrived twice (QoS 1 is at-least-once). */
function firstSeen(payloads: string[]): { order: number[]; duplicates: number } {
  const seen = new Set<string>();
  const order: number[] = [];
  for (const p of payloads) {
    if (seen.has(p)) continue;
    seen.add(p);
    order.push(Number(p));
  }
  return { order, duplicates: payloads.length - seen.size };
}

t.test('broker stopped while 1,000 QoS 1 messages are published, then restarted: all arrive, in order', async (t) => {
  if (!requireTool(t, 'mosquitto', 'mosquitto')) return;
  const broker = await startMosquitto({ dir: t.testdir(), persistence: true });
  t.teardown(() => broker.kill());
  // A persistent-session subscriber (MQTT 3.1.1, clean: false): the broker keeps its messages while it is away.
  const rec = await recordMessages(broker.url, ['openstarry/dev1/out/seq'], { protocolVersion: 4, clean: false, clientId: 'recorder-1' });
  t.teardown(() => rec.close());
  const link = await makeLink(t, { url: broker.url });
  await link.start();
  for (let i = 0; i < 300; i++) link.publish('out/seq', String(i));
  await broker.stop();
  await waitFor(() => link.state().state !== 'connected', 'the link to notice');
  for (let i = 300; i < 1000; i++) link.publish('out/seq', String(i));
  t.ok(link.state().queue.queued >= 700, `queued while down: ${link.state().queue.queued}`);
  await broker.restart();
  await waitFor(() => firstSeen(rec.messages.map((m) => m.payload)).order.length === 1000, 'all 1,000', 30_000);
  const { order, duplicates } = firstSeen(rec.messages.map((m) => m.payload));
  t.same(order, Array.from({ length: 1000 }, (_, i) => i), 'every message, in publish order');
  t.comment(`duplicates (PUBACK lost with the connection): ${duplicates}`);
  t.ok(duplicates <= 32, 'at most one in-flight window is sent twice');
  await waitFor(() => link.state().queue.queued === 0, 'the queue to empty');
  t.equal(link.state().queue.dropped, 0);
  t.ok(link.state().reconnects >= 1);
});

t.test('a link closed while offline leaves its queue; the next link (same dir) drains it in order', async (t) => {
  if (!requireTool(t, 'mosquitto', 'mosquitto')) return;
  const broker = await startMosquitto({ dir: t.testdir() });
  t.teardown(() => broker.kill());
  await broker.stop();
  const queueDir = path.join(await scratch(t), 'queue');
  const first = await makeLink(t, { url: broker.url, startWaitMs: 100 }, { queueDir });
  await first.start();
  t.not(first.state().state, 'connected');
  for (let i = 0; i < 500; i++) first.publish('out/seq', String(i));
  first.publish('state', '{"v":1}', { retain: true });
  first.publish('state', '{"v":2}', { retain: true });
  t.equal(first.state().queue.coalesced, 1);
  await first.close();

  await broker.restart();
  const rec = await recordMessages(broker.url, ['openstarry/dev1/out/seq', 'openstarry/dev1/state']);
  t.teardown(() => rec.close());
  const second = await makeLink(t, { url: broker.url }, { queueDir });
  await second.start();
  await waitFor(() => rec.messages.length >= 501, 'the drained queue');
  await waitFor(() => second.state().queue.queued === 0, 'the queue to empty');
  const seq = rec.messages.filter((m) => m.topic.endsWith('/out/seq')).map((m) => Number(m.payload));
  t.same(seq, Array.from({ length: 500 }, (_, i) => i), 'exactly once each (never sent before), in order');
  t.same(rec.messages.filter((m) => m.topic.endsWith('/state')).map((m) => m.payload), ['{"v":2}'], 'the state snapshot coalesced to its latest value');
  t.equal(rec.messages.at(-1)?.topic, 'openstarry/dev1/state', 'and sent after the events pushed before it');
});

t.test('last will: SIGKILL of the process running the link leaves {"online":false} retained', async (t) => {
  if (!requireTool(t, 'mosquitto', 'mosquitto')) return;
  const broker = await startMosquitto({ dir: t.testdir() });
  t.teardown(() => broker.kill());
  const fixture = path.join(import.meta.dirname, 'fixtures', 'link-child.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, broker.url, path.join(await scratch(t), 'queue')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  let out = '';
  child.stdout?.on('data', (b: Buffer) => void (out += b.toString()));
  await waitFor(() => out.includes('connected'), `the child to connect (${out})`, 20_000);
  const rec = await recordMessages(broker.url, ['openstarry/child1/status']);
  t.teardown(() => rec.close());
  await waitFor(() => rec.messages.length === 1, 'the retained birth');
  t.match(JSON.parse(rec.messages[0]?.payload ?? ''), { online: true, deviceId: 'child1' });
  t.equal(rec.messages[0]?.retain, true);
  child.kill('SIGKILL');
  await exited;
  await waitFor(() => rec.messages.length === 2, 'the last will');
  t.match(JSON.parse(rec.messages[1]?.payload ?? ''), { online: false, deviceId: 'child1', reason: 'connection lost' });
  // A subscriber arriving afterwards sees the will, retained.
  const late = await recordMessages(broker.url, ['openstarry/child1/status']);
  t.teardown(() => late.close());
  await waitFor(() => late.messages.length === 1, 'the retained will');
  t.match(JSON.parse(late.messages[0]?.payload ?? ''), { online: false });
  t.equal(late.messages[0]?.retain, true);
});
