import t from 'tap';
import { DriverErrorCode } from '../errors.ts';
import type { GpioEdgeEvent } from './gpio-bus.ts';
import { createSimGpioBus } from './sim-gpio-bus.ts';

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

t.test('level(): the physical level of outputs, kept after close, undefined for inputs', async (t) => {
  const sim = createSimGpioBus();
  t.equal(sim.level(4), undefined, 'never opened');
  const relay = await sim.open(4, { direction: 'out', activeLow: true, initial: 1 });
  t.equal(sim.level(4), 0, 'active-low "on" pulls the wire low');
  await relay.write(0);
  t.equal(sim.level(4), 1);
  await relay.close();
  t.equal(sim.level(4), 1, 'an unexported output keeps driving its last level');
  const input = await sim.open(4, { direction: 'in' });
  t.equal(sim.level(4), undefined, 'reopened as an input');
  await input.close();
  await sim.close();
});

t.test('drive(): validated, remembered before open, and not seen by an output', async (t) => {
  const sim = createSimGpioBus();
  t.throws(() => sim.drive(-1, 1), { code: DriverErrorCode.INVALID_ARGUMENT });
  t.throws(() => sim.drive(3, 2 as 0), { code: DriverErrorCode.INVALID_ARGUMENT });
  sim.drive(3, 1);
  const input = await sim.open(3, { direction: 'in' });
  t.equal(await input.read(), 1, 'the level driven before the line was opened');
  await input.close();
  const out = await sim.open(3, { direction: 'out', initial: 0 });
  sim.drive(3, 1);
  t.equal(await out.read(), 0, 'an output reads back its own latch');
  await sim.close();
});

t.test('edge timestamps come from the injected clock at the time of the change', async (t) => {
  let now = 1000;
  const sim = createSimGpioBus({ clock: { now: () => now } });
  const input = await sim.open(8, { direction: 'in', edge: 'both' });
  const events: GpioEdgeEvent[] = [];
  input.watch((e) => events.push(e));
  sim.drive(8, 1);
  now = 2000; // delivery happens later; the edge keeps the time it happened
  await turn();
  t.same(events, [{ value: 1, at: 1000 }]);
  sim.drive(8, 1);
  await turn();
  t.equal(events.length, 1, 'driving the same level again is no edge');
  await sim.close();
});

t.test('a throwing watcher does not starve the others and does not throw into the daemon', async (t) => {
  const sim = createSimGpioBus();
  const input = await sim.open(8, { direction: 'in', edge: 'rising' });
  const seen: number[] = [];
  input.watch(() => {
    throw new Error('listener bug');
  });
  input.watch((e) => seen.push(e.value));
  sim.drive(8, 1);
  await turn();
  await turn();
  t.same(seen, [1]);
  t.equal((input as unknown as { listenerErrors: number }).listenerErrors, 1, 'counted, not rethrown as an uncaught exception');
  await sim.close();
});

t.test('writes reach the line in call order, even when issued back to back', async (t) => {
  const sim = createSimGpioBus();
  const out = await sim.open(9, { direction: 'out' });
  await Promise.all([out.write(1), out.write(0), out.write(1), out.write(0)]);
  t.equal(sim.level(9), 0, 'the last write wins');
  await sim.close();
});
