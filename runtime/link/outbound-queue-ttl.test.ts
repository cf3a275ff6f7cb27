// mqtt.queue.ttlMs on the real file system with a manual clock: messages older than the TTL are dropped at drain,
// at open and at compaction, counted as expired; the others go in order; age survives a restart (the enqueue time
// is in the record), and a queue file written before records carried a time still loads.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { ManualClock } from '../manual-clock.ts';
import { OutboundQueue, QUEUE_FILE } from './outbound-queue.ts';
import { crc32, decodeLog } from './queue-log-format.ts';
import { mqttConfigSchema, parseMqttConfig } from './mqtt-config.ts';

const buf = (s: string) => Buffer.from(s);
const drainAll = (q: OutboundQueue) => q.peekAfter(0, 1_000_000).map((m) => m.payload.toString());

/** A PUT record as files before `at` wrote it (type 1: u8 1 | u48 seq | u8 flags | u16 topicLength | topic | payload). */
function v1Put(seq: number, topic: string, payload: string): Buffer {
  const t = Buffer.from(topic);
  const body = Buffer.concat([Buffer.from([1]), Buffer.alloc(6), Buffer.from([0]), Buffer.alloc(2), t, Buffer.from(payload)]);
  body.writeUIntLE(seq, 1, 6);
  body.writeUInt16LE(t.length, 8);
  const head = Buffer.alloc(8);
  head.writeUInt32LE(body.length, 0);
  head.writeUInt32LE(crc32(body), 4);
  return Buffer.concat([head, body]);
}

t.test('drain drops what is older than ttlMs, counts it as expired, and hands out the rest in order', async (t) => {
  const clock = new ManualClock();
  const q = await OutboundQueue.open({ dir: t.testdir(), clock, ttlMs: 10_000 });
  t.teardown(() => q.close());
  q.push('p/out/n', buf('old-1'));
  q.push('p/out/n', buf('old-2'));
  clock.advance(6000);
  q.push('p/out/n', buf('fresh-1'));
  q.push('p/out/n', buf('fresh-2'));
  t.same(drainAll(q), ['old-1', 'old-2', 'fresh-1', 'fresh-2'], 'nothing is old yet');
  clock.advance(4000); // old-* are now exactly 10 s old, fresh-* 4 s
  t.same(drainAll(q), ['fresh-1', 'fresh-2'], 'the old ones are gone at drain, the fresh ones keep their order');
  t.match(q.stats(), { expired: 2, queued: 2, dropped: 0 });
  clock.advance(5999);
  t.same(drainAll(q), ['fresh-1', 'fresh-2']);
  clock.advance(1);
  t.same(drainAll(q), []);
  t.equal(q.stats().expired, 4);
});

t.test('a message already handed to the broker (at or below afterSeq) waits for its PUBACK, not the TTL', async (t) => {
  const clock = new ManualClock();
  const q = await OutboundQueue.open({ dir: t.testdir(), clock, ttlMs: 1000 });
  t.teardown(() => q.close());
  const a = q.push('p/out/n', buf('a'));
  q.push('p/out/n', buf('b'));
  t.same(q.peekAfter(0, 1).map((m) => m.seq), [a.seq], 'a in flight');
  clock.advance(1000);
  t.same(q.peekAfter(a.seq, 10), [], 'b expired');
  t.equal(q.stats().expired, 1);
  t.ok(q.ack(a.seq), 'a is still there for its PUBACK');
});

t.test('without ttlMs nothing ever expires', async (t) => {
  const clock = new ManualClock();
  const q = await OutboundQueue.open({ dir: t.testdir(), clock });
  t.teardown(() => q.close());
  q.push('p/out/n', buf('x'));
  clock.advance(10 * 365 * 86_400_000);
  t.same(drainAll(q), ['x']);
  t.equal(q.stats().expired, 0);
});

t.test('age survives a restart: a queue file holding old messages is opened after the TTL passed', async (t) => {
  const dir = t.testdir();
  const clock = new ManualClock();
  const q1 = await OutboundQueue.open({ dir, clock, ttlMs: 60_000 });
  for (let i = 0; i < 5; i++) q1.push('p/out/n', buf(`old-${i}`));
  clock.advance(30_000);
  for (let i = 0; i < 3; i++) q1.push('p/out/n', buf(`fresh-${i}`));
  await q1.close();
  const records = decodeLog(await readFile(path.join(dir, QUEUE_FILE))).records;
  t.same(records.map((r) => (r.kind === 'put' ? r.at : undefined)), [...Array(5).fill(1_700_000_000_000), ...Array(3).fill(1_700_000_030_000)], 'each record carries its enqueue time');

  // The daemon is down for 40 s: old-* are 70 s old at the next open, fresh-* 40 s.
  clock.advance(40_000);
  const q2 = await OutboundQueue.open({ dir, clock, ttlMs: 60_000 });
  t.teardown(() => q2.close());
  t.same(drainAll(q2), ['fresh-0', 'fresh-1', 'fresh-2']);
  t.equal(q2.stats().expired, 5, 'expired at open, counted');
  await q2.close();
  // The expiry was written: a third open without a TTL does not bring them back.
  const q3 = await OutboundQueue.open({ dir, clock });
  t.teardown(() => q3.close());
  t.same(drainAll(q3), ['fresh-0', 'fresh-1', 'fresh-2']);
});

t.test('a queue file from before enqueue times (type-1 records) still loads; its messages age from that open', async (t) => {
  const dir = t.testdir();
  await writeFile(path.join(dir, QUEUE_FILE), Buffer.concat([v1Put(1, 'p/out/n', 'legacy-1'), v1Put(2, 'p/out/n', 'legacy-2')]));
  const clock = new ManualClock();
  const q = await OutboundQueue.open({ dir, clock, ttlMs: 5000 });
  t.teardown(() => q.close());
  t.equal(q.stats().discardedTailBytes, 0, 'nothing cut off');
  t.same(drainAll(q), ['legacy-1', 'legacy-2'], 'loaded, not expired at once');
  const next = q.push('p/out/n', buf('new'));
  t.equal(next.seq, 3, 'sequence numbers go on from the old file');
  clock.advance(5000);
  t.same(drainAll(q), []);
  t.equal(q.stats().expired, 3);
});

t.test('compaction drops expired messages from the rewritten file', async (t) => {
  const dir = t.testdir();
  const clock = new ManualClock();
  const q = await OutboundQueue.open({ dir, clock, ttlMs: 10_000, compactMinBytes: 4096 });
  const early: number[] = [];
  for (let i = 0; i < 200; i++) early.push(q.push('p/out/n', buf(`early payload ${i}`)).seq);
  clock.advance(10_000); // the early ones still in the queue are expired now, but nothing has drained them
  for (let i = 0; i < 100; i++) q.push('p/out/n', buf(`late payload ${i}`));
  await Promise.resolve();
  for (const s of early.slice(0, 160)) q.ack(s); // over half the file dead: a compaction starts
  q.flush();
  await q.close(); // waits for the compaction
  t.ok(q.stats().compactions >= 1, 'compacted');
  t.equal(q.stats().expired, 40, 'the 40 unacked early ones expired in the compaction');
  const live = decodeLog(await readFile(path.join(dir, QUEUE_FILE))).records.filter((r) => r.kind === 'put').map((r) => (r.kind === 'put' ? r.payload.toString() : ''));
  t.notOk(live.some((p) => p.startsWith('early')), 'no expired record in the new file');
  const again = await OutboundQueue.open({ dir, clock });
  t.teardown(() => again.close());
  t.same(drainAll(again), Array.from({ length: 100 }, (_, i) => `late payload ${i}`));
});

t.test('mqtt.queue.ttlMs: default none, a bad value names the field', async (t) => {
  t.equal(parseMqttConfig({}).queue.ttlMs, undefined);
  t.equal(parseMqttConfig({ queue: { ttlMs: 3_600_000 } }).queue.ttlMs, 3_600_000);
  const paths = (queue: unknown) => mqttConfigSchema().safeParse({ queue }).error?.issues.map((i) => i.path.join('.'));
  t.same(paths({ ttlMs: 5 }), ['queue.ttlMs'], 'below 1 s');
  t.same(paths({ ttlMs: 'an hour' }), ['queue.ttlMs'], 'not a number');
});
