// The sim world's peripheral timers on the board's injected clock: every() and after() run as that clock moves,
// a cancelled after() never runs, and close() stops whatever is still pending.
import t from 'tap';
import { ManualClock } from '../runtime/manual-clock.ts';
import { SimWorld } from './sim-world.ts';

t.test('every() and after() run on the clock; cancel and close() leave no timer', async (t) => {
  const clock = new ManualClock();
  const world = new SimWorld(clock);
  t.teardown(() => world.close());
  const ran: string[] = [];
  world.every(1000, () => ran.push('tick'));
  world.after(1500, () => ran.push('once'));
  const cancel = world.after(500, () => ran.push('cancelled'));
  cancel();
  cancel();
  clock.advance(999);
  t.same(ran, [], 'nothing before its time');
  clock.advance(1001);
  t.same(ran, ['tick', 'once', 'tick']);
  t.equal(clock.pending, 1, 'only the repeating timer is left');
  await world.close();
  t.equal(clock.pending, 0, 'close() stops it');
  world.every(10, () => ran.push('late'));
  world.after(10, () => ran.push('late'));
  clock.advance(100);
  t.same(ran, ['tick', 'once', 'tick'], 'a closed world starts no timer');
  t.equal(clock.pending, 0);
});
