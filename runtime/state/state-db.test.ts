// StateDb: snapshots, coalesced writes (the SD-card budget), flush and close semantics, write failures, timers.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { systemClock } from '../clock.ts';
import type { Clock } from '../clock.ts';
import { ErrorCode, OpenStarryError } from '../errors.ts';
import type { Logger } from '../logging/logger.ts';
import type { DurableFs } from '../durable-file.ts';
import { ManualClock, settle } from './manual-clock.test-support.ts';
import { PowerCutFs } from './power-cut-fs.test-support.ts';
import { DEFAULT_MAX_SNAPSHOT_BYTES, StateDb } from './state-db.ts';

const FILE = '/state/state.json';

async function memoryDb(options: { flushIntervalMs?: number; maxSnapshotBytes?: number; fs?: DurableFs; log?: Logger } = {}) {
  const clock = new ManualClock();
  const fs = new PowerCutFs('/state');
  const db = await StateDb.open({ file: FILE, clock, fs: options.fs ?? fs, ...options });
  return { db, clock, fs };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err instanceof OpenStarryError ? err.code : String(err);
  }
}

t.test('setSnapshot stores a copy and does not write; flush writes once', async (t) => {
  const { db, fs, clock } = await memoryDb();
  const state = { setpoint: 22.5, history: [21, 22] };
  db.setSnapshot('thermostat', state);
  state.history.push(99);
  t.same(db.getSnapshot('thermostat'), { setpoint: 22.5, history: [21, 22] });
  t.equal(db.snapshotUpdatedAt('thermostat'), clock.now());
  t.equal(db.stats.writes, 0, 'marked dirty only');
  t.equal(db.stats.dirty, true);
  t.equal(fs.peek(FILE), undefined);
  await db.flush();
  t.equal(db.stats.writes, 1);
  t.equal(db.stats.dirty, false);
  t.same(JSON.parse(fs.peek(FILE) ?? '').agents.thermostat.snapshot, { setpoint: 22.5, history: [21, 22] });
  await db.flush();
  t.equal(db.stats.writes, 1, 'nothing dirty: no write');
  const copy = db.getSnapshot('thermostat') as { setpoint: number };
  copy.setpoint = 0;
  t.same(db.getSnapshot('thermostat'), { setpoint: 22.5, history: [21, 22] }, 'getSnapshot hands out copies');
  t.equal(db.getSnapshot('nobody'), undefined);
  t.equal(db.getSnapshot('constructor'), undefined, 'own keys only');
  await db.close();
});

t.test('a set that changes nothing costs nothing', async (t) => {
  const { db, clock } = await memoryDb();
  db.setSnapshot('a', { x: 1 });
  await db.flush();
  const at = db.snapshotUpdatedAt('a');
  clock.advance(5000);
  db.setSnapshot('a', { x: 1 });
  t.equal(db.stats.dirty, false);
  t.equal(db.snapshotUpdatedAt('a'), at);
  t.equal(clock.pending, 0, 'no timer armed');
  await db.close();
  t.equal(db.stats.writes, 1);
});

t.test('typed errors: bad agent id, not JSON, too large', async (t) => {
  const { db } = await memoryDb({ maxSnapshotBytes: 100 });
  t.equal(codeOf(() => db.setSnapshot('Bad Id', {})), ErrorCode.STATE_INVALID);
  t.equal(codeOf(() => db.setSnapshot('__proto__', {})), ErrorCode.STATE_INVALID);
  t.equal(codeOf(() => db.setSnapshot('a', { f: () => 1 })), ErrorCode.STATE_INVALID);
  t.equal(codeOf(() => db.setSnapshot('a', { n: 1n })), ErrorCode.STATE_INVALID);
  const cyclic: Record<string, unknown> = {};
  cyclic.me = cyclic;
  t.equal(codeOf(() => db.setSnapshot('a', cyclic)), ErrorCode.STATE_INVALID);
  t.equal(codeOf(() => db.setSnapshot('a', 'x'.repeat(200))), ErrorCode.STATE_TOO_LARGE);
  t.equal(db.stats.dirty, false, 'a rejected set changes nothing');
  t.equal(db.getSnapshot('a'), undefined);
  await db.close();
});

t.test('the default cap is 256 KiB per agent', async (t) => {
  const { db } = await memoryDb();
  t.equal(DEFAULT_MAX_SNAPSHOT_BYTES, 256 * 1024);
  t.equal(codeOf(() => db.setSnapshot('a', 'x'.repeat(256 * 1024 - 2))), undefined);
  t.equal(codeOf(() => db.setSnapshot('a', 'x'.repeat(256 * 1024 - 1))), ErrorCode.STATE_TOO_LARGE);
  await db.close();
});

t.test('deleteSnapshot and agentIds', async (t) => {
  const { db } = await memoryDb();
  db.setSnapshot('a', 1);
  db.setSnapshot('b', 2);
  t.same(db.agentIds().sort(), ['a', 'b']);
  t.equal(db.deleteSnapshot('a'), true);
  t.equal(db.deleteSnapshot('a'), false);
  t.same(db.agentIds(), ['b']);
  await db.close();
});

t.test('coalescing: 10 agents x 10 updates/s for 60 simulated seconds -> at most 31 writes', async (t) => {
  const { db, clock, fs } = await memoryDb();
  const agents = Array.from({ length: 10 }, (_, i) => `agent-${i}`);
  let updates = 0;
  for (let tick = 0; tick < 600; tick++) {
    for (const id of agents) {
      db.setSnapshot(id, { temperature: 20 + (tick % 50) / 10, tick, id });
      updates++;
    }
    clock.advance(100);
    await settle();
  }
  await db.close();
  const { writes, bytesWritten } = db.stats;
  t.ok(writes <= 31, `${writes} writes for ${updates} updates`);
  t.ok(writes >= 29, 'and it does keep saving, once per 2 s interval');
  t.equal(bytesWritten, fs.bytesWritten, 'stats agree with what reached the file system');
  // What write-on-every-update (lowdb's own Low#update) would cost: the whole document, once per update.
  const naiveBytes = updates * Buffer.byteLength(fs.peek(FILE) ?? '');
  t.comment(`bytes written per minute: ${bytesWritten} (${(bytesWritten / 1024).toFixed(1)} KiB) in ${writes} writes; write-per-update: ~${(naiveBytes / 1024).toFixed(0)} KiB in ${updates} writes`);
  const final = JSON.parse(fs.peek(FILE) ?? '');
  t.same(final.agents['agent-7'].snapshot, { temperature: 20 + (599 % 50) / 10, tick: 599, id: 'agent-7' }, 'close saved the last values');
  t.equal(clock.pending, 0);
});

t.test('the timer writes at most once per interval, and only while dirty', async (t) => {
  const { db, clock } = await memoryDb({ flushIntervalMs: 1000 });
  t.equal(clock.pending, 0, 'idle: no timer');
  db.setSnapshot('a', 1);
  t.equal(clock.pending, 1);
  db.setSnapshot('a', 2);
  t.equal(clock.pending, 1, 'one timer for any number of changes');
  clock.advance(999);
  await settle();
  t.equal(db.stats.writes, 0);
  clock.advance(1);
  await settle();
  t.equal(db.stats.writes, 1);
  t.equal(clock.pending, 0, 'clean again: no timer');
  db.setSnapshot('a', 3);
  await db.flush();
  t.equal(clock.pending, 0, 'an explicit flush disarms the timer it made pointless');
  await db.close();
});

t.test('flush: one write at a time; calls during a write share one follow-up write', async (t) => {
  const { db, fs } = await memoryDb();
  db.setSnapshot('a', 1);
  const first = db.flush();
  db.setSnapshot('a', 2);
  const waiters = [db.flush(), db.flush(), db.flush()];
  await Promise.all([first, ...waiters]);
  t.equal(db.stats.writes, 2);
  t.same(JSON.parse(fs.peek(FILE) ?? '').agents.a.snapshot, 2, 'the follow-up write has the newest data');
  await Promise.all([db.flush(), db.flush()]);
  t.equal(db.stats.writes, 2);
  await db.close();
});

t.test('close: final flush, idempotent, no timers left, no changes after', async (t) => {
  const { db, clock, fs } = await memoryDb();
  db.setSnapshot('a', { last: true });
  t.equal(clock.pending, 1);
  const c1 = db.close();
  const c2 = db.close();
  t.equal(c1, c2, 'the same promise');
  await c1;
  await db.close();
  t.equal(db.closed, true);
  t.equal(clock.pending, 0);
  t.equal(db.stats.writes, 1);
  t.same(JSON.parse(fs.peek(FILE) ?? '').agents.a.snapshot, { last: true });
  t.equal(codeOf(() => db.setSnapshot('a', 1)), ErrorCode.NOT_READY);
  t.equal(codeOf(() => db.deleteSnapshot('a')), ErrorCode.NOT_READY);
  t.equal(codeOf(() => db.journal.setDesired([])), ErrorCode.NOT_READY);
  t.same(db.getSnapshot('a'), { last: true }, 'reads still work');
});

t.test('a failing card: logged once, retried on the timer, recovered', async (t) => {
  const errors: string[] = [];
  const infos: string[] = [];
  const log: Logger = { debug() {}, info: (m) => void infos.push(m), warn() {}, error: (m) => void errors.push(m), child: () => log, setLevel() {} };
  const inner = new PowerCutFs('/state');
  let broken = true;
  const fs: DurableFs = {
    readFile: (f) => inner.readFile(f),
    open: (f, flags) => (broken && flags === 'w' ? Promise.reject(Object.assign(new Error('EROFS: read-only file system'), { code: 'EROFS' })) : inner.open(f, flags)),
    rename: (a, b) => inner.rename(a, b),
    link: (a, b) => inner.link(a, b),
    unlink: (f) => inner.unlink(f),
  };
  const { db, clock } = await memoryDb({ fs, log, flushIntervalMs: 1000 });
  db.setSnapshot('a', 1);
  await t.rejects(db.flush(), { code: ErrorCode.STATE_IO });
  t.equal(clock.pending, 1, 'a retry is armed');
  for (let i = 0; i < 3; i++) {
    clock.advance(1000);
    await settle();
  }
  t.equal(db.stats.failedWrites, 4);
  t.match(db.stats.lastError, /read-only file system/);
  t.equal(db.stats.readOnly, true, 'EROFS: the home is read-only (status: state-readonly)');
  t.equal(db.getSnapshot('a'), 1, 'the state is held in memory');
  t.equal(db.stats.dirty, true);
  t.equal(errors.length, 1, 'logged once per failure streak, not every 2 s');
  broken = false;
  clock.advance(1000);
  await settle();
  t.equal(db.stats.writes, 1);
  t.equal(db.stats.lastError, undefined);
  t.equal(db.stats.readOnly, undefined, 'writable again: the flag clears');
  t.same(infos, ['state file writes recovered']);
  t.equal(clock.pending, 0);
  await db.close();
});

t.test('a close whose final write fails rejects, and stays closed', async (t) => {
  const fail = (code: string) => async () => Promise.reject(Object.assign(new Error(code), { code }));
  const fs: DurableFs = { readFile: fail('ENOENT'), open: fail('EIO'), rename: fail('EIO'), link: fail('EIO'), unlink: fail('EIO') };
  const { db, clock } = await memoryDb({ fs });
  db.setSnapshot('a', 1);
  await t.rejects(db.close(), { code: ErrorCode.STATE_IO });
  t.equal(db.closed, true);
  t.equal(clock.pending, 0, 'no retry timer after close');
});

t.test('invalid options are refused', async (t) => {
  await t.rejects(StateDb.open({ file: FILE, flushIntervalMs: 0, fs: new PowerCutFs('/state') }), { code: ErrorCode.INVALID_PARAMS });
  await t.rejects(StateDb.open({ file: FILE, maxSnapshotBytes: -1, fs: new PowerCutFs('/state') }), { code: ErrorCode.INVALID_PARAMS });
});

t.test('real files and real timers: the flush timer is unref\'d and writes the file', async (t) => {
  const handles: { hasRef(): boolean }[] = [];
  const clock: Clock = {
    now: () => systemClock.now(),
    setTimeout: (fn, ms) => {
      const h = systemClock.setTimeout(fn, ms) as { hasRef(): boolean };
      handles.push(h);
      return h;
    },
    clearTimeout: (h) => systemClock.clearTimeout(h),
  };
  const file = path.join(t.testdir(), 'state.json');
  const db = await StateDb.open({ file, clock, flushIntervalMs: 20 });
  db.setSnapshot('sensor', { celsius: 21 });
  t.equal(handles.length, 1);
  t.equal(handles[0]?.hasRef(), false, 'the flush timer alone does not keep the daemon alive');
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.same(JSON.parse(await readFile(file, 'utf8')).agents.sensor.snapshot, { celsius: 21 });
  await db.close();
});
