// Opening a damaged state file never fails: a truncated, corrupt or schema-invalid file falls back to the backup,
// both bad gives a fresh document, and `recovery` says which and why (docs/ARCHITECTURE.md "State DB", the "says so in status").
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import type { Logger } from '../logging/logger.ts';
import { nodeDurableFs } from '../durable-file.ts';
import { ManualClock } from './manual-clock.test-support.ts';
import { StateDb } from './state-db.ts';
import { parseStateDocument } from './state-recovery.ts';
import { freshDocument } from './state-schema.ts';

function recordingLog(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const log: Logger = {
    debug: () => undefined,
    info: () => undefined,
    warn: (m, f) => void lines.push(`warn ${m} ${JSON.stringify(f)}`),
    error: (m, f) => void lines.push(`error ${m} ${JSON.stringify(f)}`),
    child: () => log,
    setLevel: () => undefined,
  };
  return { log, lines };
}

/** A state file written twice: `.bak` holds { n: 1 }, the file { n: 2 }. */
async function twoGoodVersions(t: Test): Promise<{ file: string; good: string; bak: string }> {
  const file = path.join(t.testdir(), 'state.json');
  const db = await StateDb.open({ file, clock: new ManualClock() });
  db.setSnapshot('sensor', { n: 1 });
  await db.flush();
  db.setSnapshot('sensor', { n: 2 });
  await db.close();
  return { file, good: await readFile(file, 'utf8'), bak: await readFile(`${file}.bak`, 'utf8') };
}

const damage: [string, (good: string) => string, RegExp][] = [
  ['truncated mid-write', (good) => good.slice(0, Math.floor(good.length / 2)), /not valid JSON, probably truncated/],
  ['zero-length (the classic power-cut result)', () => '', /empty/],
  ['NUL-filled blocks', (good) => '\0'.repeat(good.length), /not valid JSON/],
  ['corrupt bytes', (good) => good.replace('"sensor"', '"sen\u0001sor'), /not valid JSON/],
  ['valid JSON, wrong shape', () => JSON.stringify({ version: 1, agents: 'oops' }), /does not match the schema \(agents: .*journal/],
  ['valid JSON, not an object', () => '42', /does not match the schema/],
  ['a bad agent id', (good) => good.replace('"sensor"', '"Not An Id"'), /does not match the schema/],
  ['written by a newer openstarryd', () => JSON.stringify({ ...freshDocument(), version: 2 }), /version 2 was written by a newer openstarryd/],
];

for (const [name, mangle, reason] of damage) {
  t.test(`state file ${name} -> the backup, and recovery says so`, async (t) => {
    const { file, good } = await twoGoodVersions(t);
    await writeFile(file, mangle(good));
    const { log, lines } = recordingLog();
    const db = await StateDb.open({ file, clock: new ManualClock(), log });
    t.equal(db.recovery.source, 'backup');
    t.match(db.recovery.reason, reason);
    t.same(db.getSnapshot('sensor'), { n: 1 }, 'the last good version');
    t.match(lines.join('\n'), /warn state file unusable, loaded its last-good backup/);
    await db.close();
  });
}

t.test('after recovering from the backup, the damaged file is never promoted to backup', async (t) => {
  const { file, good, bak } = await twoGoodVersions(t);
  await writeFile(file, good.slice(0, 10));
  const db = await StateDb.open({ file, clock: new ManualClock() });
  db.setSnapshot('sensor', { n: 3 });
  await db.flush();
  t.equal(await readFile(`${file}.bak`, 'utf8'), bak, 'the good backup is still there');
  db.setSnapshot('sensor', { n: 4 });
  await db.close();
  t.same(JSON.parse(await readFile(`${file}.bak`, 'utf8')).agents.sensor.snapshot, { n: 3 }, 'now what we wrote is backed up');
  const again = await StateDb.open({ file, clock: new ManualClock() });
  t.same(again.recovery, { source: 'file' });
  t.same(again.getSnapshot('sensor'), { n: 4 });
  await again.close();
});

t.test('file and backup both bad -> a fresh document, with both reasons', async (t) => {
  const { file } = await twoGoodVersions(t);
  await writeFile(file, '{"version":1,"agen');
  await writeFile(`${file}.bak`, '');
  const { log, lines } = recordingLog();
  const db = await StateDb.open({ file, clock: new ManualClock(), log });
  t.equal(db.recovery.source, 'fresh');
  t.match(db.recovery.reason, /^state file not valid JSON.*; backup empty/);
  t.same(db.agentIds(), []);
  t.match(lines.join('\n'), /state file and backup unusable, starting fresh/);
  await db.close();
});

t.test('file bad and no backup -> fresh, with the reason', async (t) => {
  const file = path.join(t.testdir(), 'state.json');
  await writeFile(file, 'not json');
  const db = await StateDb.open({ file, clock: new ManualClock() });
  t.same(db.recovery.source, 'fresh');
  t.match(db.recovery.reason, /state file not valid JSON.*; no backup/);
  await db.close();
});

t.test('file missing but a backup exists -> the backup', async (t) => {
  const { file } = await twoGoodVersions(t);
  await rm(file);
  const db = await StateDb.open({ file, clock: new ManualClock() });
  t.same(db.recovery, { source: 'backup', reason: 'state file missing' });
  t.same(db.getSnapshot('sensor'), { n: 1 });
  await db.close();
});

t.test('first boot: no file, no backup -> fresh, nothing to report', async (t) => {
  const { log, lines } = recordingLog();
  const db = await StateDb.open({ file: path.join(t.testdir(), 'state.json'), clock: new ManualClock(), log });
  t.same(db.recovery, { source: 'fresh' });
  t.same(lines, []);
  await db.close();
});

t.test('an unreadable state file (EACCES, EIO) is survivable too', async (t) => {
  const { file } = await twoGoodVersions(t);
  const fs = {
    ...nodeDurableFs,
    readFile: async (f: string, e: 'utf8') => (f === file ? Promise.reject(Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' })) : nodeDurableFs.readFile(f, e)),
  };
  const db = await StateDb.open({ file, clock: new ManualClock(), fs });
  t.equal(db.recovery.source, 'backup');
  t.match(db.recovery.reason, /state file unreadable \(EIO: i\/o error, read\)/);
  await db.close();
});

t.test('parseStateDocument lists at most three schema problems', async (t) => {
  const result = parseStateDocument(JSON.stringify({ version: 1, agents: 1, journal: 2, registry: 3, extra: 4 }));
  t.equal(result.ok, false);
  if (!result.ok) t.match(result.reason, /; and \d+ more\)$/);
  t.same(parseStateDocument(JSON.stringify(freshDocument())), { ok: true, doc: freshDocument() });
});
