// End to end, the daemon as a systemd service sees it: READY=1 and WATCHDOG=1 arriving at a real Unix datagram
// listener (python3, standing in for systemd's NOTIFY_SOCKET) from the daemon's own pid, STOPPING=1 before the
// pings stop, and the log written to a real file that JOURNAL_STREAM names, as journald's stream would be.
import { statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import type { DaemonStatus } from '../control/protocol.ts';
import { loadSdNotifyAddon } from '../daemon/sd-notify-addon.ts';
import { startNotifyListener } from '../../scripts/testing/notify-listener.ts';
import { requirePart, requireTool } from '../../scripts/testing/system-deps.ts';
import { agentFixture, startDaemon, templatesWithConfig, tempDir } from './harness.ts';

/** The addon must be built for these (npm test builds it); without it: a failure in CI, a visible skip elsewhere. */
function addonBuilt(t: Test): boolean {
  const load = loadSdNotifyAddon();
  return requirePart(t, 'addon' in load, `the sd_notify addon is not built (${'error' in load ? load.error : ''}): run npm run build (needs gcc, make, python3)`);
}

t.test('READY=1 reaches NOTIFY_SOCKET from the daemon itself (the addon: NotifyAccess=main accepts it)', async (t) => {
  if (!requireTool(t, 'python3', 'python3') || !addonBuilt(t)) return;
  const dir = tempDir(t);
  const listener = await startNotifyListener(path.join(dir, 'notify.sock'));
  t.teardown(() => listener.close());
  const d = await startDaemon(t, { dir, env: { NOTIFY_SOCKET: listener.address } });
  const ready = await listener.waitFor('READY=1', (m) => m.fields.READY === '1');
  t.equal(ready.fields.STATUS, 'ready; master agent pid 1');
  t.equal(ready.pid, d.child.pid, 'sent by the main pid, not a forked helper');
  t.equal(ready.fds, 0);
  const status = await d.json<DaemonStatus>('status');
  t.match(status.systemd, { notify: 'addon', watchdog: { state: 'off', reason: /WATCHDOG_USEC is not set/ } });
  t.notOk('notifyFallback' in (status.systemd ?? {}));
  t.match(d.log(), /systemd: notifications by the sd_notify addon; watchdog off: WATCHDOG_USEC is not set/);
});

t.test('with WATCHDOG_USEC the healthy daemon sends WATCHDOG=1 every half interval; STOPPING=1 comes before they stop', async (t) => {
  if (!requireTool(t, 'python3', 'python3') || !addonBuilt(t)) return;
  const dir = tempDir(t);
  const listener = await startNotifyListener(path.join(dir, 'notify.sock'));
  t.teardown(() => listener.close());
  // 4 s: a ping every 2 s, so the test sees a few; the unit's WatchdogSec is 30 s.
  const d = await startDaemon(t, { dir, env: { NOTIFY_SOCKET: listener.address, WATCHDOG_USEC: '4000000' } });
  await listener.waitFor('READY=1', (m) => m.fields.READY === '1');
  await listener.waitFor('a second WATCHDOG=1', () => listener.messages.filter((m) => m.fields.WATCHDOG === '1').length >= 2);
  const pings = listener.messages.filter((m) => m.fields.WATCHDOG === '1');
  t.ok(pings.every((m) => m.pid === d.child.pid && m.message === 'WATCHDOG=1'), 'each ping is WATCHDOG=1 from the daemon pid');
  t.ok(listener.messages.findIndex((m) => m.fields.READY === '1') < listener.messages.indexOf(pings[0]!), 'READY=1 first');
  const status = await d.json<DaemonStatus>('status');
  t.match(status.systemd, { notify: 'addon', watchdog: { state: 'pinging', intervalMs: 4000, periodMs: 2000, maxLagMs: 1000 } });
  const human = await d.cli('status');
  t.match(human.stdout, /systemd: {4}notify addon, watchdog pinging every 2\.0s \(interval 4\.0s, \d+ pings\)/);
  t.match(d.log(), /watchdog: WATCHDOG=1 every 2000 ms while healthy \(interval 4000 ms\)/);

  d.child.kill('SIGTERM');
  t.equal(await d.exited, 0);
  const stopping = listener.messages.findIndex((m) => m.fields.STOPPING === '1');
  t.ok(stopping > 0, 'STOPPING=1 sent');
  t.equal(listener.messages.slice(stopping + 1).filter((m) => m.fields.WATCHDOG).length, 0, 'no ping after STOPPING=1');
  t.equal(listener.messages[stopping]?.pid, d.child.pid);
});

t.test('stderr is the journal (JOURNAL_STREAM names the real file): priority prefixes, no timestamps, agent lines named', async (t) => {
  const dir = tempDir(t);
  const { config } = templatesWithConfig(dir, {
    chatty: agentFixture(
      { id: 'chatty', plugins: ['./main.js'] },
      {
        'main.js':
          "export default { name: 'chatty', start(ctx) { ctx.log.info('warming up'); ctx.log.warn('too cold', { t: 3 }); ctx.log.error('sensor lost'); " +
          "console.log('plain stdout'); console.error('plain stderr'); this.t = setInterval(() => {}, 60000); }, stop() { clearInterval(this.t); } };\n",
      },
    ),
  });
  const file = path.join(dir, 'journal-stream.log');
  writeFileSync(file, '');
  const st = statSync(file);
  const d = await startDaemon(t, { dir, outputFile: file, args: ['--config', config], env: { JOURNAL_STREAM: `${st.dev}:${st.ino}` } });
  const spawned = await d.cli('spawn', 'chatty');
  t.equal(spawned.code, 0, spawned.stderr);
  await d.waitFor('the agent lines', async () => d.log().includes('plain stderr'));
  d.child.kill('SIGTERM');
  t.equal(await d.exited, 0);

  const lines = d.log().split('\n').filter((l) => l !== '');
  t.ok(lines.length > 10);
  t.same(lines.filter((l) => !/^<[3467]>/.test(l)), [], 'every line starts with a priority');
  t.same(lines.filter((l) => /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(l)), [], 'no timestamps of its own');
  t.match(d.log(), /^<6>info {2}openstarryd: ready in \d+ ms/m);
  t.match(d.log(), /^<6>info {2}openstarryd\.agent: chatty\[2\] warming up$/m);
  t.match(d.log(), /^<4>warn {2}openstarryd\.agent: chatty\[2\] too cold t=3$/m);
  t.match(d.log(), /^<3>error openstarryd\.agent: chatty\[2\] sensor lost$/m);
  t.match(d.log(), /^<6>info {2}openstarryd\.agent: chatty\[2\] plain stdout$/m);
  t.match(d.log(), /^<4>warn {2}openstarryd\.agent: chatty\[2\] plain stderr$/m);
  t.match(d.log(), /^<6>info {2}openstarryd: SIGTERM received, shutting down$/m);
  t.match(d.log(), /^<6>info {2}openstarryd: stopped$/m);
});

t.test('a failed boot is logged at error priority in the journal', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'journal-stream.log');
  writeFileSync(file, '');
  writeFileSync(path.join(dir, 'bad.yaml'), 'agents:\n  stopGraceMs: soon\n');
  const st = statSync(file);
  const d = await startDaemon(t, { dir, outputFile: file, waitReady: false, args: ['--config', path.join(dir, 'bad.yaml')], env: { JOURNAL_STREAM: `${st.dev}:${st.ino}` } });
  t.equal(await d.exited, 1);
  t.match(d.log(), new RegExp(`^<3>error openstarryd: boot failed: .*${path.join(dir, 'bad.yaml').replaceAll('/', '\\/')}`, 'm'));
  t.same(d.log().split('\n').filter((l) => l !== '' && !/^<[3467]>/.test(l)), [], 'every line, continuation lines included, has a priority');
});
