import t from 'tap';
import type { InputEdge } from '../../device.ts';
import { VirtualClock } from '../test-support/virtual-clock.ts';
import { StableLevelDebouncer } from './debouncer.ts';

function setup(debounceMs = 50, initial: 0 | 1 = 0) {
  const clock = new VirtualClock(0);
  const edges: InputEdge[] = [];
  const debouncer = new StableLevelDebouncer(clock, debounceMs, initial, (e) => edges.push(e));
  return { clock, edges, debouncer };
}

t.test('a clean edge is reported once the level held for debounceMs, stamped with the raw edge time', async (t) => {
  const { clock, edges, debouncer } = setup();
  debouncer.input(1, 1000.25);
  clock.advance(49);
  t.same(edges, []);
  t.equal(debouncer.level, 0, 'read() still says 0 while unconfirmed');
  clock.advance(1);
  t.same(edges, [{ edge: 'rising', value: 1, at: 1000.25 }]);
  t.equal(debouncer.level, 1);
});

t.test('contact bounce: many sub-ms toggles give one edge, debounceMs after the last toggle', async (t) => {
  const { clock, edges, debouncer } = setup();
  for (const [v, at] of [[1, 0], [0, 0.1], [1, 0.3], [0, 0.4], [1, 0.6]] as const) debouncer.input(v, at);
  clock.advance(50);
  t.same(edges, [{ edge: 'rising', value: 1, at: 0.6 }]);
  debouncer.input(0, 3000);
  debouncer.input(1, 3000.2);
  debouncer.input(0, 3000.5);
  clock.advance(50);
  t.same(edges[1], { edge: 'falling', value: 0, at: 3000.5 });
  t.equal(edges.length, 2);
});

t.test('a spike shorter than debounceMs is never reported', async (t) => {
  const { clock, edges, debouncer } = setup();
  debouncer.input(1, 0);
  clock.advance(10);
  debouncer.input(0, 10);
  clock.advance(1000);
  t.same(edges, []);
  t.equal(debouncer.level, 0);
});

t.test('the case a lockout debounce gets wrong: the level settles back inside the window', async (t) => {
  // A lockout ("report the first edge, ignore edges for 50 ms") would report rising at 0 and ignore the fall at
  // 30, then claim 1 until the next edge. Stability-based debounce reports nothing and keeps the true level.
  const { clock, edges, debouncer } = setup();
  debouncer.input(1, 0);
  clock.advance(30);
  debouncer.input(0, 30);
  clock.advance(500);
  t.same(edges, []);
  t.equal(debouncer.level, 0);
});

t.test('edges keep alternating; a repeated value (coalesced by the binding) changes nothing', async (t) => {
  const { clock, edges, debouncer } = setup(20, 1);
  debouncer.input(1, 0);
  clock.advance(100);
  t.same(edges, []);
  debouncer.input(0, 100);
  clock.advance(20);
  debouncer.input(0, 130);
  clock.advance(20);
  t.same(edges.map((e) => e.edge), ['falling']);
});

t.test('debounceMs 0 reports at once; seed sets the level silently', async (t) => {
  const { edges, debouncer, clock } = setup(0);
  debouncer.seed(1);
  debouncer.input(0, 5);
  t.same(edges, [{ edge: 'falling', value: 0, at: 5 }]);
  t.equal(clock.pending, 0);
});

t.test('close stops the pending timer and ignores later input', async (t) => {
  const { clock, edges, debouncer } = setup();
  debouncer.input(1, 0);
  t.equal(clock.pending, 1);
  debouncer.close();
  debouncer.close();
  t.equal(clock.pending, 0);
  debouncer.input(1, 10);
  clock.advance(100);
  t.same(edges, []);
});
