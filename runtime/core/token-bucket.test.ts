import t from 'tap';
// eslint-disable-next-line no-restricted-imports -- the test, not the pure core, uses the shared ManualClock (runtime/manual-clock.ts)
import { ManualClock } from '../manual-clock.ts';
import { KeyedTokenBuckets, TokenBucket } from './token-bucket.ts';

const takeAll = (bucket: { take(): boolean }, n: number) => Array.from({ length: n }, () => bucket.take()).filter(Boolean).length;

t.test('a full bucket passes the burst, then refills at the rate, never above the burst', async (t) => {
  const clock = new ManualClock();
  const bucket = new TokenBucket(5, 10, clock);
  t.equal(takeAll(bucket, 20), 10, 'the burst passes, the rest is refused');
  t.notOk(bucket.take(), 'empty');
  clock.advance(200);
  t.ok(bucket.take(), 'one token after 1/5 s');
  t.notOk(bucket.take());
  clock.advance(1000);
  t.equal(takeAll(bucket, 20), 5, 'five a second');
  clock.advance(60_000);
  t.equal(takeAll(bucket, 20), 10, 'a long pause refills to the burst, not beyond');
});

t.test('fractions accumulate; a burst below one token never passes', async (t) => {
  const clock = new ManualClock();
  const bucket = new TokenBucket(1, 1, clock);
  t.ok(bucket.take());
  clock.advance(500);
  t.notOk(bucket.take(), 'half a token');
  clock.advance(500);
  t.ok(bucket.take(), 'two halves make one');
  const never = new TokenBucket(100, 0.5, clock);
  clock.advance(10_000);
  t.notOk(never.take());
});

t.test('time that does not move forward adds nothing (a stalled clock)', async (t) => {
  const clock = new ManualClock();
  const bucket = new TokenBucket(10, 2, clock);
  t.equal(takeAll(bucket, 5), 2);
  t.notOk(bucket.take());
  clock.stall(100);
  t.ok(bucket.take(), 'stall moves now() too');
});

t.test('keyed buckets: one per key, 0 disables, the oldest key is forgotten past maxKeys', async (t) => {
  const clock = new ManualClock();
  const keyed = new KeyedTokenBuckets(1, 2, clock, 2);
  t.equal(takeAll({ take: () => keyed.take('a') }, 5), 2);
  t.equal(takeAll({ take: () => keyed.take('b') }, 5), 2, 'a flood from a does not starve b');
  t.equal(keyed.size, 2);
  t.ok(keyed.take('c'), 'a new key starts full');
  t.equal(keyed.size, 2, 'a was forgotten');
  t.equal(takeAll({ take: () => keyed.take('a') }, 5), 2, 'a starts afresh');
  const off = new KeyedTokenBuckets(0, 0, clock);
  t.equal(takeAll({ take: () => off.take('x') }, 100), 100);
  t.equal(off.size, 0);
});
