// The journal across daemon runs (spec 002 phase 1.3): a clean stop -> the next boot is normal; a run that never
// set the clean-shutdown marker -> the next boot is abnormal and gets back the agents that should be running.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { ErrorCode, OpenStarryError } from '../errors.ts';
import type { Logger } from '../logging/logger.ts';
import type { DurableFs } from '../durable-file.ts';
import { ManualClock } from './manual-clock.test-support.ts';
import { PowerCutFs } from './power-cut-fs.test-support.ts';
import { StateDb } from './state-db.ts';
import type { DesiredAgent } from './state-schema.ts';

const master: DesiredAgent = { agentId: 'master', template: 'master-agent', pid: '1', since: 1000 };
const fan: DesiredAgent = { agentId: 'fan-control', template: 'fan-control', since: 2000 };

t.test('clean stop -> normal boot; no clean stop -> abnormal boot with the previous desired set', async (t) => {
  const file = path.join(t.testdir(), 'state.json');
  const clock = new ManualClock();

  const run1 = await StateDb.open({ file, clock });
  const boot1 = await run1.journal.markBoot();
  t.same(boot1, { abnormal: false, previousDesired: [], bootCount: 1 }, 'first boot ever');
  run1.journal.setDesired([master, fan]);
  await run1.journal.markCleanShutdown();
  await run1.close();

  const run2 = await StateDb.open({ file, clock });
  const boot2 = await run2.journal.markBoot();
  t.same(boot2, { abnormal: false, previousDesired: [master, fan], bootCount: 2 }, 'after a clean stop');
  run2.journal.setDesired([master]);
  await run2.close(); // stopped without the marker: what the OOM killer or a crash leaves

  const run3 = await StateDb.open({ file, clock });
  const boot3 = await run3.journal.markBoot();
  t.equal(boot3.abnormal, true);
  t.equal(boot3.reason, 'the previous run did not shut down cleanly');
  t.same(boot3.previousDesired, [master]);
  t.equal(boot3.bootCount, 3);
  t.equal(run3.journal.cleanShutdown, false, 'cleared for this run');
  // run3 is simply abandoned (a power cut): markBoot had already written the cleared marker.

  const run4 = await StateDb.open({ file, clock });
  t.equal((await run4.journal.markBoot()).abnormal, true, 'a run that died right after boot is caught too');
  await run4.journal.markCleanShutdown();
  await run4.close();
  const run5 = await StateDb.open({ file, clock });
  t.equal((await run5.journal.markBoot()).abnormal, false);
  await run5.close();
});

t.test('markBoot writes at once and records the time; markCleanShutdown too', async (t) => {
  const clock = new ManualClock();
  const fs = new PowerCutFs('/s');
  const db = await StateDb.open({ file: '/s/state.json', clock, fs });
  await db.journal.markBoot();
  t.equal(db.stats.writes, 1, 'no waiting for the coalescing timer');
  const doc = JSON.parse(fs.peek('/s/state.json') ?? '');
  t.same(doc.journal, { desired: [], cleanShutdown: false, bootCount: 1, lastBootAt: clock.now() });
  clock.advance(5000);
  await db.journal.markCleanShutdown();
  t.equal(db.stats.writes, 2);
  t.equal(JSON.parse(fs.peek('/s/state.json') ?? '').journal.lastShutdownAt, clock.now());
  await db.close();
  t.equal(db.stats.writes, 2, 'close had nothing left to write');
});

t.test('markBoot runs once per DB: later calls return the first scan', async (t) => {
  const db = await StateDb.open({ file: '/s/state.json', clock: new ManualClock(), fs: new PowerCutFs('/s') });
  const a = db.journal.markBoot();
  const b = db.journal.markBoot();
  t.equal(a, b);
  t.equal((await a).bootCount, 1);
  t.equal(db.stats.writes, 1);
  await db.close();
});

t.test('a damaged state file counts as an interruption', async (t) => {
  const file = path.join(t.testdir(), 'state.json');
  const first = await StateDb.open({ file, clock: new ManualClock() });
  await first.journal.markBoot();
  first.journal.setDesired([master]);
  await first.journal.markCleanShutdown(); // state.json: clean
  await first.close();
  const second = await StateDb.open({ file, clock: new ManualClock() });
  await second.journal.markBoot(); // state.json: not clean; .bak: the clean one
  await writeFile(file, '{"version":1,"age'); // and then the power went mid-write
  const third = await StateDb.open({ file, clock: new ManualClock() });
  const boot = await third.journal.markBoot();
  t.equal(boot.abnormal, true, 'even though the backup says the run before was clean');
  t.match(boot.reason, /^the state file was damaged: state file not valid JSON/);
  t.same(boot.previousDesired, [master]);
  await third.close();

  await writeFile(file, 'x');
  await writeFile(`${file}.bak`, 'y');
  const fresh = await StateDb.open({ file, clock: new ManualClock() });
  const scan = await fresh.journal.markBoot();
  t.equal(scan.abnormal, true);
  t.same(scan.previousDesired, [], 'the journal itself was lost');
  await fresh.close();
});

t.test('markBoot on a card that refuses writes: logged, not thrown (the daemon still boots)', async (t) => {
  const lines: string[] = [];
  const log: Logger = { debug() {}, info() {}, warn: (m) => void lines.push(`warn ${m}`), error: (m) => void lines.push(`error ${m}`), child: () => log, setLevel() {} };
  const inner = new PowerCutFs('/s');
  const fs: DurableFs = {
    readFile: (f) => inner.readFile(f),
    open: async () => Promise.reject(Object.assign(new Error('EROFS: read-only file system'), { code: 'EROFS' })),
    rename: (a, b) => inner.rename(a, b),
    link: (a, b) => inner.link(a, b),
    unlink: (f) => inner.unlink(f),
  };
  const db = await StateDb.open({ file: '/s/state.json', clock: new ManualClock(), fs, log });
  const boot = await db.journal.markBoot();
  t.equal(boot.abnormal, false);
  t.same(lines.map((l) => l.split(':')[0]), ['error state file write failed; will retry', 'warn boot not recorded in the state file yet']);
  t.equal(db.stats.dirty, true, 'still to be written when the card allows');
  await t.rejects(db.close(), { code: ErrorCode.STATE_IO });
});

t.test('setDesired validates, and an unchanged set is not a change', async (t) => {
  const clock = new ManualClock();
  const db = await StateDb.open({ file: '/s/state.json', clock, fs: new PowerCutFs('/s') });
  for (const bad of [[master, master], [{ ...fan, agentId: 'Not Valid' }], [{ ...fan, since: -1 }], [{ agentId: 'x' }]]) {
    try {
      db.journal.setDesired(bad as DesiredAgent[]);
      t.fail('accepted');
    } catch (err) {
      t.ok(err instanceof OpenStarryError);
      t.equal((err as OpenStarryError).code, ErrorCode.STATE_INVALID);
      t.match((err as OpenStarryError).message, /^desired agents: /);
    }
  }
  t.equal(db.stats.dirty, false);
  db.journal.setDesired([master]);
  await db.flush();
  db.journal.setDesired([{ ...master }]);
  t.equal(db.stats.dirty, false, 'same set again: nothing to write');
  t.equal(clock.pending, 0);
  const desired = db.journal.desired;
  desired.push(fan);
  t.same(db.journal.desired, [master], 'the getter hands out a copy');
  db.journal.setDesired([master, fan]);
  t.equal(db.stats.dirty, true, 'coalesced: marked dirty, not written');
  t.equal(db.stats.writes, 1);
  await db.close();
  t.equal(db.stats.writes, 2);
});
