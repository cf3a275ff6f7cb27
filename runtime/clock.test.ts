import t from 'tap';
import { every, sleep, systemClock, within } from './clock.ts';
import { ManualClock } from './manual-clock.ts';

t.test('every: runs on the clock until stopped; stop is idempotent and leaves no timer', async (t) => {
  const clock = new ManualClock();
  let runs = 0;
  const r = every(clock, 1000, () => void (runs += 1));
  clock.advance(999);
  t.equal(runs, 0);
  clock.advance(1);
  t.equal(runs, 1);
  clock.advance(5000);
  t.equal(runs, 6);
  t.equal(clock.pending, 1);
  r.stop();
  r.stop();
  t.equal(clock.pending, 0);
  clock.advance(5000);
  t.equal(runs, 6);
});

t.test('every: a run that stops its own timer is the last', async (t) => {
  const clock = new ManualClock();
  let runs = 0;
  const r = every(clock, 10, () => {
    runs += 1;
    if (runs === 3) r.stop();
  });
  clock.advance(100);
  t.equal(runs, 3);
  t.equal(clock.pending, 0);
});

t.test('every on the system clock: unref leaves the process free to exit', async (t) => {
  const handles: { hasRef(): boolean }[] = [];
  const clock = { ...systemClock, setTimeout: (fn: () => void, ms: number) => { const h = systemClock.setTimeout(fn, ms) as { hasRef(): boolean }; handles.push(h); return h; } };
  const r = every(clock, 5, () => undefined, { unref: true });
  await new Promise((resolve) => setTimeout(resolve, 30));
  r.stop();
  t.ok(handles.length >= 2, 'rescheduled');
  t.ok(handles.every((h) => !h.hasRef()), 'every handle unref\'d');
});

t.test('within: the answer when it comes first, undefined when the time runs out; no timer left either way', async (t) => {
  const clock = new ManualClock();
  t.equal(await within(clock, 1000, Promise.resolve(7)), 7);
  t.equal(clock.pending, 0, 'cleared after an answer');
  const never = within(clock, 1000, new Promise<number>(() => undefined));
  clock.advance(999);
  let settled = false;
  void never.then(() => (settled = true));
  await new Promise((r) => setImmediate(r));
  t.notOk(settled, 'still waiting before the time is up');
  clock.advance(1);
  t.equal(await never, undefined);
  t.equal(clock.pending, 0, 'nothing left after a timeout');
  await t.rejects(within(clock, 1000, Promise.reject(new Error('gone'))), { message: 'gone' }, 'a rejection passes through');
  t.equal(clock.pending, 0, 'cleared after a rejection');
});

t.test('within on the system clock with unref: the pending timer does not hold the process', async (t) => {
  let handle: { hasRef(): boolean } | undefined;
  const clock = { ...systemClock, setTimeout: (fn: () => void, ms: number) => (handle = systemClock.setTimeout(fn, ms) as { hasRef(): boolean }) };
  const asked = within(clock, 60_000, new Promise(() => undefined), { unref: true });
  t.equal(handle?.hasRef(), false, 'unref\'d');
  void asked;
});

t.test('sleep: resolves once the time has passed on the clock', async (t) => {
  const clock = new ManualClock();
  let done = false;
  const s = sleep(clock, 50).then(() => (done = true));
  clock.advance(49);
  await new Promise((r) => setImmediate(r));
  t.notOk(done);
  clock.advance(1);
  await s;
  t.ok(done);
  t.equal(clock.pending, 0);
});
