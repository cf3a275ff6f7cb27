// Restart policy decisions (README "What it is", `restart`): which endings restart, the backoff, the cap, exhaustion.
import t from 'tap';
import type { RestartPolicy } from '../design/manifest-schema.ts';
import { MAX_BACKOFF_MS, STABLE_RUN_MS, decideRestart, nextAttempt } from './restart-policy.ts';

const policy = (p: RestartPolicy['policy'], maxRestarts = 5, backoffMs = 1000): RestartPolicy => ({ policy: p, maxRestarts, backoffMs });

t.test('never: no restart whatever happened, and never "exhausted"', async (t) => {
  t.same(decideRestart(policy('never'), true, 0), { restart: false, delayMs: 0, exhausted: false });
  t.same(decideRestart(policy('never'), false, 0), { restart: false, delayMs: 0, exhausted: false });
  t.same(decideRestart(policy('never'), true, 99), { restart: false, delayMs: 0, exhausted: false });
});

t.test('on-failure: restarts a crash, not a clean end', async (t) => {
  t.same(decideRestart(policy('on-failure'), true, 0), { restart: true, delayMs: 1000, exhausted: false });
  t.same(decideRestart(policy('on-failure'), false, 0), { restart: false, delayMs: 0, exhausted: false });
  t.same(decideRestart(policy('on-failure'), false, 5), { restart: false, delayMs: 0, exhausted: false }, 'a clean end after many crashes is not "exhausted"');
});

t.test('always: restarts both a crash and a clean end', async (t) => {
  t.same(decideRestart(policy('always'), true, 0), { restart: true, delayMs: 1000, exhausted: false });
  t.same(decideRestart(policy('always'), false, 0), { restart: true, delayMs: 1000, exhausted: false });
});

t.test('exponential backoff: backoffMs * 2^attempt', async (t) => {
  const p = policy('always', 10, 500);
  t.same(
    [0, 1, 2, 3, 4].map((a) => decideRestart(p, true, a).delayMs),
    [500, 1000, 2000, 4000, 8000],
  );
});

t.test(`the backoff is capped at MAX_BACKOFF_MS (${MAX_BACKOFF_MS} ms)`, async (t) => {
  const p = policy('on-failure', 1000, 1000);
  t.equal(decideRestart(p, true, 8).delayMs, 256_000, 'below the cap');
  t.equal(decideRestart(p, true, 9).delayMs, MAX_BACKOFF_MS, '512 s is capped');
  t.equal(decideRestart(p, true, 30).delayMs, MAX_BACKOFF_MS);
  t.equal(decideRestart(p, true, 999).delayMs, MAX_BACKOFF_MS, 'huge attempts stay finite');
  t.ok(Number.isFinite(decideRestart(policy('always', 1000, 0), true, 999).delayMs), 'zero backoff never becomes NaN');
  t.equal(decideRestart(policy('always', 1000, 0), true, 999).delayMs, 0);
});

t.test('a backoff larger than the cap is used as configured, not shortened', async (t) => {
  const p = policy('always', 5, 600_000);
  t.equal(decideRestart(p, true, 0).delayMs, 600_000);
  t.equal(decideRestart(p, true, 3).delayMs, 600_000, 'and not grown either');
});

t.test('exhausted after maxRestarts consecutive restarts', async (t) => {
  const p = policy('on-failure', 3, 100);
  t.same(
    [0, 1, 2].map((a) => decideRestart(p, true, a).restart),
    [true, true, true],
  );
  t.same(decideRestart(p, true, 3), { restart: false, delayMs: 0, exhausted: true });
  t.same(decideRestart(p, true, 4), { restart: false, delayMs: 0, exhausted: true });
  t.same(decideRestart(policy('always', 0), false, 0), { restart: false, delayMs: 0, exhausted: true }, 'maxRestarts 0: exhausted at once');
});

t.test(`nextAttempt: the series resets after STABLE_RUN_MS (${STABLE_RUN_MS} ms) of uptime`, async (t) => {
  t.equal(nextAttempt(3, 0), 3);
  t.equal(nextAttempt(3, STABLE_RUN_MS - 1), 3, 'just short of stable');
  t.equal(nextAttempt(3, STABLE_RUN_MS), 0, 'stable');
  t.equal(nextAttempt(3, STABLE_RUN_MS * 100), 0);
  t.equal(nextAttempt(0, 5), 0);
});

t.test('a weekly crasher is never given up on; a crash loop is', async (t) => {
  const p = policy('on-failure', 2, 1000);
  let attempt = 0;
  for (let week = 0; week < 10; week++) {
    attempt = nextAttempt(attempt, 7 * 24 * 3600_000);
    const d = decideRestart(p, true, attempt);
    t.ok(d.restart, `week ${week}`);
    t.equal(d.delayMs, 1000);
    attempt += 1;
  }
  attempt = 0;
  const loop: boolean[] = [];
  for (let i = 0; i < 4; i++) {
    attempt = nextAttempt(attempt, 50);
    loop.push(decideRestart(p, true, attempt).restart);
    attempt += 1;
  }
  t.same(loop, [true, true, false, false]);
});
