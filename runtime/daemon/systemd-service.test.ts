// The daemon's side of systemd's protocol, with a recording notifier and a manual clock: READY=1 then the watchdog,
// STOPPING=1 before the watchdog stops, the transport logged once, the tick liveness rule, and what status shows.
import t from 'tap';
import { ManualClock } from '../manual-clock.ts';
import { createLogger } from '../logging/logger.ts';
import type { NotifyTransport, SdNotifier } from './sd-notify.ts';
import { SystemdService } from './systemd-service.ts';

function setup(transport: NotifyTransport, env: Record<string, string>, fallbackReason?: string) {
  const sent: Record<string, string>[] = [];
  const notifier: SdNotifier = {
    enabled: transport !== 'off',
    transport,
    ...(fallbackReason ? { fallbackReason } : {}),
    notify: async (fields) => void sent.push(fields),
  };
  const clock = new ManualClock();
  const lines: string[] = [];
  const log = createLogger('openstarryd', { level: 'debug', write: (l) => void lines.push(l), now: () => new Date(0) });
  const service = new SystemdService({ notifier, env, clock, log, pid: 7 });
  return { service, sent, clock, lines };
}

const settle = () => new Promise((r) => setImmediate(r));

t.test('not under systemd: nothing is sent, status says off', async (t) => {
  const { service, sent, clock, lines } = setup('off', { WATCHDOG_USEC: '30000000' });
  service.ready('ready');
  service.stopping();
  t.same(sent, []);
  t.equal(clock.pending, 0);
  t.same(service.status(), { notify: 'off', watchdog: { state: 'off', reason: 'NOTIFY_SOCKET is not set (not started by systemd)' } });
  t.same(lines, ['1970-01-01T00:00:00.000Z debug openstarryd: systemd: not started by systemd (no NOTIFY_SOCKET); no notifications\n']);
});

t.test('with the addon and WATCHDOG_USEC: READY=1, then WATCHDOG=1; STOPPING=1 first at shutdown, then the timer stops', async (t) => {
  const { service, sent, clock, lines } = setup('addon', { WATCHDOG_USEC: '30000000', WATCHDOG_PID: '7' });
  t.match(service.status(), { notify: 'addon', watchdog: { state: 'off', reason: 'not started: the daemon is not ready yet' } });
  let tickAt = clock.now();
  service.ready('ready; master agent pid 1', [{ name: 'supervisor tick', lastAt: () => tickAt, intervalMs: 2000 }]);
  await settle();
  t.same(sent, [{ READY: '1', STATUS: 'ready; master agent pid 1' }, { WATCHDOG: '1' }]);
  t.same(lines, ['1970-01-01T00:00:00.000Z info  openstarryd: systemd: notifications by the sd_notify addon; watchdog: WATCHDOG=1 every 15000 ms while healthy (interval 30000 ms)\n']);
  tickAt = clock.now() + 15_000;
  clock.advance(15_000);
  await settle();
  t.equal(sent.length, 3);
  t.match(service.status(), { notify: 'addon', watchdog: { state: 'pinging', intervalMs: 30_000, periodMs: 15_000, pings: 2 } });
  service.stopping();
  t.same(sent.at(-1), { STOPPING: '1' });
  t.equal(clock.pending, 0, 'the watchdog timer is gone');
  clock.advance(60_000);
  t.same(sent.at(-1), { STOPPING: '1' }, 'no ping after STOPPING=1');
  t.equal(service.status().watchdog.state, 'stopped');
});

t.test('a tick is stale after the watchdog interval or two of its own intervals, whichever is longer', async (t) => {
  const fast = setup('addon', { WATCHDOG_USEC: '30000000' });
  const start = fast.clock.now();
  fast.service.ready('ready', [{ name: 'supervisor tick', lastAt: () => start, intervalMs: 2000 }]);
  await settle();
  fast.clock.advance(15_000);
  await settle();
  fast.clock.advance(15_000);
  await settle();
  t.equal(fast.sent.filter((f) => f.WATCHDOG).length, 3, 'at 30 s: alive');
  fast.clock.advance(15_000);
  t.match(fast.service.status().watchdog, { state: 'withheld', reason: 'supervisor tick last completed 45000 ms ago (limit 30000 ms)' });

  const slow = setup('addon', { WATCHDOG_USEC: '30000000' });
  const start2 = slow.clock.now();
  slow.service.ready('ready', [{ name: 'supervisor tick', lastAt: () => start2, intervalMs: 60_000 }]);
  await settle();
  slow.clock.advance(90_000);
  await settle();
  t.equal(slow.service.status().watchdog.state, 'pinging', 'a tick configured every 60 s is judged against 120 s');
  slow.clock.advance(45_000);
  t.equal(slow.service.status().watchdog.state, 'withheld');
});

t.test('the fallback is logged as a warning naming the reason and NotifyAccess=all', async (t) => {
  const { service, lines, sent } = setup('systemd-notify', { WATCHDOG_USEC: '30000000' }, 'Cannot find module sd_notify.node');
  service.ready('ready');
  await settle();
  t.same(sent, [{ READY: '1', STATUS: 'ready' }, { WATCHDOG: '1' }]);
  t.match(lines[0], /warn {2}openstarryd: systemd: the sd_notify addon is not loaded \(Cannot find module sd_notify.node\); forking systemd-notify per notification, which systemd accepts only with NotifyAccess=all; watchdog: WATCHDOG=1 every 15000 ms/);
  t.match(service.status(), { notify: 'systemd-notify', notifyFallback: 'Cannot find module sd_notify.node' });
  service.stopping();
});

t.test('no watchdog when WATCHDOG_USEC is unset or meant for another pid; READY=1 still goes', async (t) => {
  for (const [env, reason] of [
    [{}, /WATCHDOG_USEC is not set/],
    [{ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '8' }, /WATCHDOG_PID 8 is another process \(this is 7\)/],
  ] as const) {
    const { service, sent, clock, lines } = setup('addon', env);
    service.ready('ready');
    await settle();
    t.same(sent, [{ READY: '1', STATUS: 'ready' }]);
    t.equal(clock.pending, 0);
    t.match(service.status().watchdog, { state: 'off', reason });
    t.match(lines[0], /notifications by the sd_notify addon; watchdog off: /);
  }
});
