import t from 'tap';
import { every, systemClock } from './clock.ts';
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
