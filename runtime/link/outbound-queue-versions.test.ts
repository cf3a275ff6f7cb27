// A board rolled back after an update reads a queue file a newer version wrote (queue-log-format.ts "Versions"):
// records of a type it does not know are kept — not taken for a garbled tail, which would cut every record after
// them — carried through compactions verbatim with the newer version's removals, and their sequence numbers are
// not reused.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { createLogger } from '../logging/logger.ts';
import { ManualClock } from '../manual-clock.ts';
import { OutboundQueue, QUEUE_FILE } from './outbound-queue.ts';
import { crc32, decodeLog, encodePut, encodeRemove, FRAME_HEADER } from './queue-log-format.ts';

/** A frame of type 9 as a newer version might write it: `u8 type | u48 seq | ...` (the rule every type keeps). */
function newerFrame(seq: number, rest: string): Buffer {
  const body = Buffer.concat([Buffer.from([9]), Buffer.alloc(6), Buffer.from(rest)]);
  body.writeUIntLE(seq, 1, 6);
  const header = Buffer.alloc(FRAME_HEADER);
  header.writeUInt32LE(body.length, 0);
  header.writeUInt32LE(crc32(body), 4);
  return Buffer.concat([header, body]);
}

const put = (seq: number, payload: string) => encodePut({ seq, topic: 'p/out/x', payload: Buffer.from(payload), retain: false, at: 0 });

t.test("a newer version's records are kept, the records after them read, their sequence numbers not reused", async (t) => {
  const dir = t.testdir();
  const foreign = newerFrame(10, 'a message in a format of the future');
  // Ours, the newer version's message 10, ours again, then the newer version's ack of its message 12 (gone by now).
  await writeFile(path.join(dir, QUEUE_FILE), Buffer.concat([put(1, 'one'), foreign, put(3, 'three'), encodeRemove([12])]));
  const lines: string[] = [];
  const q = await OutboundQueue.open({ dir, clock: new ManualClock(), compactMinBytes: 4096, log: createLogger('test', { write: (l) => void lines.push(l) }) });
  t.teardown(() => q.close());
  t.same(q.peekAfter(0, 10).map((m) => m.payload.toString()), ['one', 'three'], 'the record after the unknown one is read (it was cut before)');
  t.match(q.stats(), { queued: 2, newerRecords: 1, discardedTailBytes: 0 });
  t.match(lines.join(''), /records of a newer version found \(a rollback\?\); kept as they are for it/);
  t.equal(q.push('p/out/x', Buffer.from('four')).seq, 13, "past the newer record's 10 and the removal of its 12");

  // Enough traffic to compact, then everything of ours acked.
  for (let i = 0; i < 300; i++) q.ack(q.push('p/out/x', Buffer.from(`filler ${i}`)).seq);
  for (const m of q.peekAfter(0, 10)) q.ack(m.seq);
  await new Promise((r) => setImmediate(r));
  await q.close();
  t.ok(q.stats().compactions >= 1, `compacted ${q.stats().compactions} time(s)`);

  const data = await readFile(path.join(dir, QUEUE_FILE));
  t.same(data.subarray(0, foreign.length), foreign, 'the newer record is first in the compacted file, byte for byte');
  const { records, goodBytes } = decodeLog(data);
  t.equal(goodBytes, data.length);
  t.ok(records.some((r) => r.kind === 'remove' && r.seqs.includes(12)), "the newer version's removal of its 12 is kept (else that version would send 12 again)");
  const again = await OutboundQueue.open({ dir, clock: new ManualClock() });
  t.teardown(() => again.close());
  t.match(again.stats(), { queued: 0, newerRecords: 1 });
  t.equal(again.push('p/out/x', Buffer.from('after')).seq, 13, "past the newer record's 10 and its kept removal of 12 (ours, all acked, were compacted away)");
});

t.test('a known type with a bad body, type 0, or a bad CRC is still a garbled tail: cut off there', async (t) => {
  for (const [what, bad] of [
    ['type 0', (() => { const f = newerFrame(5, 'x'); f[FRAME_HEADER] = 0; f.writeUInt32LE(crc32(f.subarray(FRAME_HEADER)), 4); return f; })()],
    ['an unknown type with a bad CRC', (() => { const f = newerFrame(5, 'x'); f.writeUInt8(f.readUInt8(f.length - 1) ^ 0xff, f.length - 1); return f; })()],
    ['an unknown type too short to hold a sequence number', (() => { const body = Buffer.from([9, 1, 2]); const h = Buffer.alloc(FRAME_HEADER); h.writeUInt32LE(3, 0); h.writeUInt32LE(crc32(body), 4); return Buffer.concat([h, body]); })()],
  ] as const) {
    const dir = t.testdir();
    await writeFile(path.join(dir, QUEUE_FILE), Buffer.concat([put(1, 'one'), bad, put(3, 'three')]));
    const q = await OutboundQueue.open({ dir, clock: new ManualClock() });
    t.same(q.peekAfter(0, 10).map((m) => m.payload.toString()), ['one'], what);
    t.match(q.stats(), { newerRecords: 0, discardedTailBytes: bad.length + put(3, 'three').length }, what);
    await q.close();
  }
});
