import t, { type Test } from 'tap';
import type { IInputDevice, InputEdge } from '../../device.ts';
import { DriverErrorCode } from '../../errors.ts';
import { findSimPeripheral } from '../sim-registry.ts';
import { FakeSimBoard } from '../test-support/fake-sim-board.ts';
import { createPirDriver, pirConfigSchema } from './pir-driver.ts';
import { SimPir } from './sim-pir.ts';

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function setup(t: Test, input: Record<string, unknown> = { pin: 4 }, random = (): number => 0.99) {
  const board = new FakeSimBoard();
  t.teardown(() => board.close());
  const driver = createPirDriver({ clock: board.clock, random });
  const config = driver.configSchema.parse(input);
  driver.simulate?.('pir', config, board, board.buses);
  const sim = findSimPeripheral(board, 'pir', SimPir);
  if (sim === undefined) throw new Error('no sim PIR');
  const device = (await driver.create('pir', config, board.buses)) as IInputDevice;
  t.teardown(() => device.close());
  const edges: InputEdge[] = [];
  device.watch((e) => edges.push(e));
  return { board, clock: board.clock, sim, device, edges };
}

t.test('config schema', async (t) => {
  t.same(pirConfigSchema.parse({ pin: 4 }), { pin: 4, debounceMs: 50, activeLow: false });
  t.notOk(pirConfigSchema.safeParse({ pin: 4, debounceMs: -1 }).success);
  t.notOk(pirConfigSchema.safeParse({ pin: 4, edge: 'both' }).success);
});

t.test('triggered motion with bounce gives one debounced rising edge, then one falling edge', async (t) => {
  const { clock, sim, device, edges } = await setup(t);
  t.equal(await device.read(), 0);
  t.match(device.status(), { value: 0 });
  sim.triggerMotion(3000);
  await turn(); // the sim line delivers its (bouncing) edges on a later turn, as epoll does
  t.same(edges, [], 'nothing before the level has been stable for debounceMs');
  clock.advance(50);
  t.equal(edges.length, 1);
  t.match(edges[0], { edge: 'rising', value: 1, at: Number });
  t.equal(await device.read(), 1);
  t.match(device.status(), { value: 1, updatedAt: String });
  await clock.advanceAsync(3000, 100); // the sim PIR drops its output when the hold time ends
  clock.advance(50);
  t.same(edges.map((e) => e.edge), ['rising', 'falling']);
  t.equal(await device.read(), 0);
});

t.test('spontaneous motion from the world timer', async (t) => {
  const { clock, sim, edges } = await setup(t, { pin: 4 }, () => 0); // random 0: a zero gap, motion at once
  await clock.advanceAsync(200, 100);
  t.equal(sim.pulses, 1);
  t.ok(sim.motion);
  clock.advance(50);
  t.same(edges.map((e) => e.edge), ['rising']);
});

t.test('active-low wiring: motion pulls the pin low and reads as 1', async (t) => {
  const { board, clock, sim, device, edges } = await setup(t, { pin: 'GPIO23', activeLow: true, debounceMs: 20 });
  t.equal(await device.read(), 0);
  sim.triggerMotion(5000);
  await turn();
  t.equal(board.gpio.level(23), undefined, 'an input drives nothing');
  clock.advance(20);
  t.match(edges, [{ edge: 'rising', value: 1 }]);
});

t.test('a listener that throws does not starve the others; unsubscribe works', async (t) => {
  const { clock, sim, device } = await setup(t);
  const seen: string[] = [];
  device.watch(() => {
    throw new Error('bad listener');
  });
  const off = device.watch((e) => seen.push(e.edge));
  sim.triggerMotion(1000);
  await turn();
  clock.advance(50);
  t.same(seen, ['rising']);
  off();
  await clock.advanceAsync(1100, 100);
  clock.advance(50);
  t.same(seen, ['rising']);
});

t.test('close: idempotent, stops the debounce timer, releases the line; read is CLOSED', async (t) => {
  const { board, clock, sim, device, edges } = await setup(t);
  const worldTimers = clock.pending;
  sim.triggerMotion(1000);
  await turn();
  t.equal(clock.pending, worldTimers + 1, 'debounce timer armed');
  await Promise.all([device.close(), device.close()]);
  t.equal(clock.pending, worldTimers, 'debounce timer cleared');
  clock.advance(100);
  t.same(edges, []);
  await t.rejects(device.read(), { code: DriverErrorCode.CLOSED });
  const line = await board.gpio.open(4, { direction: 'in' });
  await line.close();
});
