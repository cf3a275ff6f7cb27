// InternalBus: topic matching, microtask delivery, unsubscribe, handler isolation and the retained snapshot.
import t from 'tap';
import { InternalBus, topicMatches } from './internal-bus.ts';

/** Lets every queued microtask (and anything they queue) run. */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

function newBus() {
  const errors: { err: unknown; topic: string }[] = [];
  const bus = new InternalBus((err, topic) => errors.push({ err, topic }));
  return { bus, errors };
}

t.test('topicMatches: exact, "*" and trailing "/*"', async (t) => {
  t.ok(topicMatches('a', 'a'), 'exact');
  t.ok(topicMatches('a/b', 'a/b'), 'exact with levels');
  t.notOk(topicMatches('a', 'b'), 'different exact topic');
  t.notOk(topicMatches('a', 'a/b'), 'exact does not match deeper levels');
  t.notOk(topicMatches('a/b', 'a'), 'exact does not match a prefix');

  t.ok(topicMatches('*', 'a'), '"*" matches a single level');
  t.ok(topicMatches('*', 'a/b/c'), '"*" matches everything');

  t.ok(topicMatches('a/*', 'a/b'), 'one trailing level');
  t.ok(topicMatches('a/*', 'a/b/c'), 'several trailing levels');
  t.notOk(topicMatches('a/*', 'a'), 'the parent itself is not matched (one or more levels)');
  t.notOk(topicMatches('a/*', 'ab/c'), 'a prefix of the level name is not a match');
  t.notOk(topicMatches('a/*', 'b/a/c'), 'anchored at the start');
  t.ok(topicMatches('a/b/*', 'a/b/c'), 'deeper wildcard');
  t.notOk(topicMatches('a/b/*', 'a/c/d'), 'deeper wildcard, other branch');
  t.notOk(topicMatches('a*', 'ab'), '"*" only counts as a whole trailing level');
});

t.test('delivers on a later microtask, never synchronously, with payload and topic', async (t) => {
  const { bus, errors } = newBus();
  const got: [unknown, string][] = [];
  bus.subscribe('climate/*', (payload, topic) => got.push([payload, topic]));
  const payload = { c: 21.5 };
  bus.publish('climate/room', payload);
  t.same(got, [], 'nothing delivered synchronously');
  await Promise.resolve();
  t.equal(got.length, 1, 'delivered on the next microtask');
  t.equal(got[0]?.[0], payload, 'the payload object itself (in-agent, no clone)');
  t.equal(got[0]?.[1], 'climate/room', 'the concrete topic, not the pattern');
  t.same(errors, []);
});

t.test('a publisher does not re-enter itself', async (t) => {
  const { bus } = newBus();
  const order: string[] = [];
  bus.subscribe('x', () => order.push('handler'));
  order.push('before');
  bus.publish('x', 1);
  order.push('after');
  await flush();
  t.same(order, ['before', 'after', 'handler']);
});

t.test('only matching subscribers get a message; every match gets it once', async (t) => {
  const { bus } = newBus();
  const got: string[] = [];
  bus.subscribe('a', () => got.push('exact-a'));
  bus.subscribe('a/*', () => got.push('a/*'));
  bus.subscribe('*', () => got.push('*'));
  bus.subscribe('b', () => got.push('exact-b'));
  bus.publish('a/x', null);
  await flush();
  t.same(got.sort(), ['*', 'a/*'].sort());
  got.length = 0;
  bus.publish('a', null);
  await flush();
  t.same(got.sort(), ['*', 'exact-a'].sort());
  got.length = 0;
  bus.publish('zzz', null);
  await flush();
  t.same(got, ['*']);
});

t.test('unsubscribe stops delivery, including for a message already published but not delivered', async (t) => {
  const { bus } = newBus();
  const got: unknown[] = [];
  const off = bus.subscribe('t', (p) => got.push(p));
  bus.publish('t', 1);
  await flush();
  bus.publish('t', 2);
  off();
  await flush();
  bus.publish('t', 3);
  await flush();
  t.same(got, [1], 'only the message delivered before unsubscribing');
  t.doesNotThrow(() => off(), 'calling unsubscribe twice is harmless');
});

t.test('a subscriber added after publish does not see that message', async (t) => {
  const { bus } = newBus();
  const got: unknown[] = [];
  bus.publish('t', 1);
  bus.subscribe('t', (p) => got.push(p));
  await flush();
  t.same(got, []);
});

t.test('a throwing handler goes to onHandlerError; the others still run', async (t) => {
  const { bus, errors } = newBus();
  const got: string[] = [];
  const boom = new Error('boom');
  bus.subscribe('t', () => got.push('first'));
  bus.subscribe('t', () => {
    throw boom;
  });
  bus.subscribe('t', () => got.push('third'));
  bus.publish('t', 'payload');
  await flush();
  t.same(got, ['first', 'third'], 'handlers around the throwing one ran');
  t.equal(errors.length, 1);
  t.equal(errors[0]?.err, boom, 'the thrown value itself');
  t.equal(errors[0]?.topic, 't');
});

t.test('retained topics form the snapshot; it is a copy', async (t) => {
  const { bus } = newBus();
  const payload = { n: 1, nested: { list: [1, 2] } };
  bus.publish('state/a', payload, { retain: true });
  bus.publish('state/b', 'first', { retain: true });
  bus.publish('state/b', 'second', { retain: true });
  bus.publish('transient', 42);
  bus.publish('explicit-false', 42, { retain: false });

  const snap = bus.snapshot();
  t.same(snap, { 'state/a': { n: 1, nested: { list: [1, 2] } }, 'state/b': 'second' }, 'last payload per retained topic only');
  t.notOk('transient' in snap, 'non-retained topic absent');
  t.notOk('explicit-false' in snap, 'retain: false is not retained');
  t.not(snap['state/a'], payload, 'not the same object');

  (snap['state/a'] as { n: number }).n = 99;
  (snap['state/a'] as { nested: { list: number[] } }).nested.list.push(3);
  t.same(bus.snapshot()['state/a'], { n: 1, nested: { list: [1, 2] } }, 'mutating a snapshot does not touch the bus');
});

t.test('retain works without subscribers', async (t) => {
  const { bus } = newBus();
  bus.publish('only', { v: true }, { retain: true });
  t.same(bus.snapshot(), { only: { v: true } });
});

t.test('an empty topic throws synchronously and retains nothing', async (t) => {
  const { bus } = newBus();
  t.throws(() => bus.publish('', 1, { retain: true }), TypeError);
  t.throws(() => bus.publish(undefined as unknown as string, 1), TypeError);
  t.same(bus.snapshot(), {});
});

t.test('clear() drops every subscriber but keeps retained state', async (t) => {
  const { bus } = newBus();
  const got: unknown[] = [];
  bus.subscribe('*', (p) => got.push(p));
  bus.publish('k', 1, { retain: true });
  bus.clear();
  await flush();
  bus.publish('k', 2, { retain: true });
  await flush();
  t.same(got, [], 'nothing delivered after clear, not even the message queued before it');
  t.same(bus.snapshot(), { k: 2 });
});
