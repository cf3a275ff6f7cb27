// The watchdog against a manual clock and a recording notifier: sd_watchdog_enabled(3)'s reading of the env, the
// ping period per transport, pings only while healthy (event-loop lag measured on the injected clock, injected
// checks such as the supervisor tick), the reason logged once, and a clean stop.
import t from 'tap';
import { ManualClock } from '../manual-clock.ts';
import { createLogger } from '../logging/logger.ts';
import type { NotifyTransport, SdNotifier } from './sd-notify.ts';
import type { HealthCheck } from './sd-watchdog.ts';
import { FORK_MIN_PERIOD_MS, pingPeriodMs, SdWatchdog, tickCheck, watchdogFromEnv } from './sd-watchdog.ts';

function notifier(transport: NotifyTransport = 'addon', behaviour: 'ok' | 'fail' | 'hang' = 'ok') {
  const sent: Record<string, string>[] = [];
  const state = { behaviour };
  const n: SdNotifier = {
    enabled: transport !== 'off',
    transport,
    notify: (fields) => {
      sent.push(fields);
      if (state.behaviour === 'fail') return Promise.reject(new Error('sd_notify to /x: ECONNREFUSED (connection refused)'));
      if (state.behaviour === 'hang') return new Promise(() => undefined);
      return Promise.resolve();
    },
  };
  return { n, sent, state };
}

function setup(options: { intervalMs?: number; transport?: NotifyTransport; behaviour?: 'ok' | 'fail' | 'hang'; checks?: HealthCheck[] } = {}) {
  const clock = new ManualClock();
  const lines: string[] = [];
  const log = createLogger('openstarryd', { write: (l) => void lines.push(l), now: () => new Date(0) });
  const { n, sent, state } = notifier(options.transport, options.behaviour);
  const wd = new SdWatchdog({ intervalMs: options.intervalMs ?? 30_000, notifier: n, clock, log, checks: options.checks ?? [], wallNow: () => new Date('2026-11-21T08:00:00.000Z') });
  const pings = () => sent.filter((f) => f.WATCHDOG === '1').length;
  return { clock, lines, wd, sent, pings, state };
}

const settle = () => new Promise((r) => setImmediate(r));

t.test('watchdogFromEnv follows sd_watchdog_enabled(3)', async (t) => {
  t.same(watchdogFromEnv({ WATCHDOG_USEC: '30000000' }, 7), { intervalMs: 30_000 });
  t.same(watchdogFromEnv({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '7' }, 7), { intervalMs: 30_000 });
  t.same(watchdogFromEnv({ WATCHDOG_USEC: '1500' }, 7), { intervalMs: 1.5 });
  t.match(watchdogFromEnv({}, 7), { off: /WATCHDOG_USEC is not set/ });
  t.match(watchdogFromEnv({ WATCHDOG_USEC: '' }, 7), { off: /not set/ });
  t.match(watchdogFromEnv({ WATCHDOG_USEC: '0' }, 7), { off: 'WATCHDOG_USEC is not a positive number of microseconds: "0"' });
  t.match(watchdogFromEnv({ WATCHDOG_USEC: '30s' }, 7), { off: /"30s"/ });
  t.match(watchdogFromEnv({ WATCHDOG_USEC: '-5' }, 7), { off: /"-5"/ });
  t.same(watchdogFromEnv({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '8' }, 7), { off: 'WATCHDOG_PID 8 is another process (this is 7)' }, 'meant for another process (a child that inherited it)');
  t.same(watchdogFromEnv({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: 'x' }, 7), { off: 'WATCHDOG_PID is not a pid: "x"' });
  t.same(watchdogFromEnv({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '' }, 7), { intervalMs: 30_000 }, 'an empty WATCHDOG_PID is unset');
});

t.test('ping period: half the interval; the forking fallback no more often than every 10 s while the interval allows', async (t) => {
  t.equal(pingPeriodMs(30_000, 'addon'), 15_000);
  t.equal(pingPeriodMs(4_000, 'addon'), 2_000);
  t.equal(pingPeriodMs(30_000, 'systemd-notify'), 15_000);
  t.equal(pingPeriodMs(60_000, 'systemd-notify'), 30_000);
  t.equal(pingPeriodMs(16_000, 'systemd-notify'), FORK_MIN_PERIOD_MS);
  t.equal(pingPeriodMs(6_000, 'systemd-notify'), 4_000, 'a short interval: two thirds of it, never past the deadline');
});

t.test('healthy: WATCHDOG=1 at start and then every half interval', async (t) => {
  const { clock, wd, pings, sent } = setup();
  t.match(wd.status(), { state: 'idle', pings: 0, intervalMs: 30_000, periodMs: 15_000, maxLagMs: 7_500 });
  wd.start();
  wd.start(); // idempotent
  await settle();
  t.equal(pings(), 1, 'one ping at start');
  clock.advance(14_999);
  await settle();
  t.equal(pings(), 1, 'not before half the interval');
  clock.advance(1);
  await settle();
  clock.advance(15_000);
  await settle();
  t.equal(pings(), 3);
  t.same(sent[0], { WATCHDOG: '1' });
  t.match(wd.status(), { state: 'pinging', pings: 3, lastPingAt: '2026-11-21T08:00:00.000Z' });
  t.notOk('reason' in wd.status());
});

t.test('an event loop that answers late is logged once and still pings: the tick proves it answers again', async (t) => {
  const { clock, wd, pings, lines } = setup();
  wd.start();
  await settle();
  clock.stall(25_000); // blocked: the timer due at 15 s fires at 25 s, 10 s late (warning above 7.5 s)
  clock.advance(0);
  await settle();
  t.equal(pings(), 2, 'the late tick pings: systemd gets it before its 30 s deadline, no restart after a survived stall');
  t.match(wd.status(), { state: 'pinging' });
  t.notOk('reason' in wd.status());
  clock.stall(23_000);
  clock.advance(0);
  await settle();
  t.equal(pings(), 3, 'late again: still pinging');
  t.equal(lines.filter((l) => /answered .* ms late/.test(l)).length, 1, 'the lag is logged once per late run');
  t.match(lines[0], /warn {2}openstarryd: watchdog: the event loop answered 10000 ms late \(warning above 7500 ms\); it answers again, still pinging/);
  clock.advance(15_000);
  await settle();
  t.equal(pings(), 4, 'on time');
  clock.stall(24_000);
  clock.advance(0);
  await settle();
  t.equal(lines.filter((l) => /answered .* ms late/.test(l)).length, 2, 'a new late run after an on-time tick is logged again');
});

t.test('a lag within the limit still pings', async (t) => {
  const { clock, wd, pings } = setup();
  wd.start();
  await settle();
  clock.stall(22_500);
  clock.advance(0);
  await settle();
  t.equal(pings(), 2);
});

t.test('a stalled tick (the supervisor) withholds pings once it is older than its limit, and a fresh one resumes', async (t) => {
  const clock0 = new ManualClock();
  let last: number | undefined = clock0.now();
  const check = tickCheck('supervisor tick', () => last, 30_000);
  t.equal(check.check(clock0.now() + 30_000), undefined, 'at the limit: alive');
  t.equal(check.check(clock0.now() + 30_001), 'supervisor tick last completed 30001 ms ago (limit 30000 ms)');
  last = undefined;
  t.equal(check.check(clock0.now() + 99_999), undefined, 'not running yet: nothing to judge');

  const { clock, wd, pings, lines } = setup({ checks: [tickCheck('supervisor tick', () => last, 30_000)] });
  last = clock.now();
  wd.start();
  await settle();
  clock.advance(15_000);
  await settle();
  clock.advance(15_000);
  await settle();
  t.equal(pings(), 3, 'the tick is 30 s old: still alive');
  clock.advance(15_000);
  await settle();
  clock.advance(15_000);
  await settle();
  t.equal(pings(), 3, 'older than 30 s: no ping');
  t.match(wd.status(), { state: 'withheld', reason: 'supervisor tick last completed 60000 ms ago (limit 30000 ms)' });
  t.equal(lines.filter((l) => /not pinging systemd: supervisor tick last completed 45000 ms ago/.test(l)).length, 1, 'logged once, at the first withheld ping');
  last = clock.now();
  clock.advance(15_000);
  await settle();
  t.equal(pings(), 4);
});

t.test('a check that throws counts as unhealthy', async (t) => {
  const { wd, pings } = setup({
    checks: [
      {
        name: 'broken',
        check: () => {
          throw new Error('no state');
        },
      },
    ],
  });
  wd.start();
  await settle();
  t.equal(pings(), 0);
  t.match(wd.status(), { state: 'withheld', reason: 'broken check failed: no state' });
});

t.test('stop() clears the timer, is idempotent, and nothing is sent afterwards', async (t) => {
  const { clock, wd, pings } = setup();
  wd.start();
  await settle();
  t.equal(clock.pending, 1);
  wd.stop();
  wd.stop();
  t.equal(clock.pending, 0, 'no timer left');
  clock.advance(120_000);
  await settle();
  wd.start();
  t.equal(pings(), 1);
  t.equal(wd.status().state, 'stopped');
});

t.test('a failed send is logged once, shown in status, and recovery is logged', async (t) => {
  const { clock, wd, lines, state } = setup({ behaviour: 'fail' });
  wd.start();
  await settle();
  clock.advance(15_000);
  await settle();
  t.equal(lines.filter((l) => /watchdog: ping failed: sd_notify to \/x: ECONNREFUSED/.test(l)).length, 1);
  t.match(wd.status(), { state: 'pinging', pings: 0, reason: 'ping failed: sd_notify to /x: ECONNREFUSED (connection refused)' });
  state.behaviour = 'ok';
  clock.advance(15_000);
  await settle();
  t.match(lines.at(-1), /watchdog: pings reach systemd again/);
  t.match(wd.status(), { pings: 1 });
  t.notOk('reason' in wd.status());
});

t.test('the forking transport: a sender still running is not doubled up', async (t) => {
  const { clock, wd, sent } = setup({ transport: 'systemd-notify', behaviour: 'hang' });
  t.equal(wd.periodMs, 15_000);
  wd.start();
  clock.advance(15_000);
  await settle();
  clock.advance(15_000);
  await settle();
  t.equal(sent.length, 1);
});
