// sd_notify: nothing without NOTIFY_SOCKET; with it, the addon sends one datagram from this process, and without
// the addon `systemd-notify --pid=<pid> KEY=value...` is forked. The real-part tests send to a python3 Unix datagram
// listener standing in for systemd: the addon to a file system socket and to an abstract one, its errors for a
// missing socket and bad addresses, and the real systemd-notify binary.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { requirePart, requireTool } from '../../scripts/testing/system-deps.ts';
import { startNotifyListener } from '../../scripts/testing/notify-listener.ts';
import type { AddonLoad, SdNotifyAddon } from './sd-notify-addon.ts';
import { describeErrno, loadSdNotifyAddon, SD_NOTIFY_ADDON } from './sd-notify-addon.ts';
import { createSdNotifier } from './sd-notify.ts';

const NO_ADDON: AddonLoad = { error: 'not built (test)', file: '/x/sd_notify.node' };

function recorder() {
  const calls: { file: string; args: readonly string[] }[] = [];
  return {
    calls,
    run: async (file: string, args: readonly string[]) => {
      calls.push({ file, args });
    },
  };
}

function fakeAddon(answer = 0) {
  const sent: { socket: string; message: string }[] = [];
  const addon: SdNotifyAddon = {
    send: (socket, message) => {
      sent.push({ socket, message });
      return answer;
    },
  };
  return { sent, load: { addon, file: '/x/sd_notify.node' } satisfies AddonLoad };
}

/** A short folder for sockets (sun_path holds 107 bytes; tap's testdirs are deep), removed after the test. */
async function socketDir(t: Test): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'osn-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** The addon as `npm run build` left it; a missing build fails in CI and is a visible skip elsewhere. */
function realAddon(t: Test): SdNotifyAddon | undefined {
  const load = loadSdNotifyAddon();
  if ('addon' in load) return load.addon;
  requirePart(t, false, `the sd_notify addon is not built (${load.error}): run npm run build (needs gcc, make, python3: apt-get install build-essential python3)`);
  return undefined;
}

t.test('without NOTIFY_SOCKET the notifier is off and never loads the addon or runs anything', async (t) => {
  for (const env of [{}, { NOTIFY_SOCKET: '' }, { NOTIFY_SOCKET: undefined }]) {
    const { calls, run } = recorder();
    const { sent, load } = fakeAddon();
    const n = createSdNotifier({ env, run, pid: 42, addon: load });
    t.equal(n.enabled, false);
    t.equal(n.transport, 'off');
    await n.notify({ READY: '1' });
    await n.notify({ STOPPING: '1' });
    t.same(calls, [], JSON.stringify(env));
    t.same(sent, []);
  }
});

t.test('with the addon: one datagram of newline-separated fields, sent from this process', async (t) => {
  const { sent, load } = fakeAddon();
  const { calls, run } = recorder();
  const n = createSdNotifier({ env: { NOTIFY_SOCKET: '/run/systemd/notify' }, addon: load, run });
  t.equal(n.enabled, true);
  t.equal(n.transport, 'addon');
  t.equal(n.fallbackReason, undefined);
  await n.notify({ READY: '1', STATUS: 'ready; master agent pid 1' });
  await n.notify({ WATCHDOG: '1' });
  t.same(sent, [
    { socket: '/run/systemd/notify', message: 'READY=1\nSTATUS=ready; master agent pid 1' },
    { socket: '/run/systemd/notify', message: 'WATCHDOG=1' },
  ]);
  t.same(calls, [], 'nothing forked');
});

t.test('a newline inside a value cannot forge another field', async (t) => {
  const { sent, load } = fakeAddon();
  await createSdNotifier({ env: { NOTIFY_SOCKET: '@x' }, addon: load }).notify({ STATUS: 'a\nMAINPID=1\r\nb' });
  t.same(sent.map((s) => s.message), ['STATUS=a MAINPID=1 b']);
  const { calls, run } = recorder();
  await createSdNotifier({ env: { NOTIFY_SOCKET: '@x' }, addon: NO_ADDON, run, pid: 7 }).notify({ STATUS: 'a\nREADY=1' });
  t.same(calls[0]?.args, ['--pid=7', 'STATUS=a READY=1']);
});

t.test('an errno from the addon rejects with ERR_SD_NOTIFY_FAILED naming the socket and the error', async (t) => {
  const { load } = fakeAddon(111);
  const n = createSdNotifier({ env: { NOTIFY_SOCKET: '/run/systemd/notify' }, addon: load });
  await t.rejects(n.notify({ READY: '1' }), { code: 'ERR_SD_NOTIFY_FAILED', message: 'sd_notify to /run/systemd/notify: ECONNREFUSED (connection refused)', details: { errno: 111 } });
  t.equal(describeErrno(99_999), 'errno 99999');
});

t.test('without the addon: systemd-notify, --pid and the fields, and the reason is kept', async (t) => {
  const { calls, run } = recorder();
  const n = createSdNotifier({ env: { NOTIFY_SOCKET: '/run/systemd/notify' }, run, pid: 4242, addon: NO_ADDON });
  t.equal(n.enabled, true);
  t.equal(n.transport, 'systemd-notify');
  t.equal(n.fallbackReason, 'not built (test)');
  await n.notify({ READY: '1' });
  await n.notify({ STOPPING: '1', STATUS: 'shutting down' });
  t.same(calls, [
    { file: 'systemd-notify', args: ['--pid=4242', 'READY=1'] },
    { file: 'systemd-notify', args: ['--pid=4242', 'STOPPING=1', 'STATUS=shutting down'] },
  ]);
});

t.test('the fallback pid defaults to this process and the binary can be overridden', async (t) => {
  const { calls, run } = recorder();
  await createSdNotifier({ env: { NOTIFY_SOCKET: '@abstract' }, run, binary: '/opt/bin/notify', addon: NO_ADDON }).notify({ READY: '1' });
  t.same(calls, [{ file: '/opt/bin/notify', args: [`--pid=${process.pid}`, 'READY=1'] }]);
});

t.test('a failing runner rejects notify()', async (t) => {
  const n = createSdNotifier({
    env: { NOTIFY_SOCKET: '/x' },
    addon: NO_ADDON,
    run: async () => {
      throw new Error('exit 1');
    },
  });
  await t.rejects(n.notify({ READY: '1' }), { message: 'exit 1' });
});

t.test('an addon that is not there is an answer, not an exception', async (t) => {
  const dir = t.testdir({ native: { 'sd-notify': { build: { Release: { 'sd_notify.node': 'not an ELF file' } } } } });
  const broken = loadSdNotifyAddon(dir);
  t.ok('error' in broken);
  t.equal(broken.file, path.join(dir, SD_NOTIFY_ADDON));
  t.match('error' in broken ? broken.error : '', new RegExp(`^${path.join(dir, SD_NOTIFY_ADDON)}: `));
  const missing = loadSdNotifyAddon(path.join(dir, 'nowhere'));
  t.equal('error' in missing ? missing.error : '', `${path.join(dir, 'nowhere', SD_NOTIFY_ADDON)} is not there (not built)`);
  const n = createSdNotifier({ env: { NOTIFY_SOCKET: '/x' }, addon: missing, run: async () => undefined });
  t.equal(n.transport, 'systemd-notify');
  t.match(n.fallbackReason, /is not there \(not built\)/);
});

t.test('the real addon: a datagram to a file system socket, from this pid, without forking', async (t) => {
  if (!requireTool(t, 'python3', 'python3')) return;
  const addon = realAddon(t);
  if (!addon) return;
  const listener = await startNotifyListener(path.join(await socketDir(t), 'notify.sock'));
  t.teardown(() => listener.close());
  const n = createSdNotifier({ env: { NOTIFY_SOCKET: listener.address }, addon: { addon, file: '' }, run: async () => void t.fail('forked') });
  t.equal(n.transport, 'addon');
  await n.notify({ READY: '1', STATUS: 'ready' });
  const m = await listener.waitFor('READY=1', (x) => x.fields.READY === '1');
  t.same(m.fields, { READY: '1', STATUS: 'ready' });
  t.equal(m.pid, process.pid, 'the sender is this process: NotifyAccess=main accepts it');
  t.equal(m.fds, 0);
});

t.test('the real addon: an abstract socket name (@...) per sd_notify(3)', async (t) => {
  if (!requireTool(t, 'python3', 'python3')) return;
  const addon = realAddon(t);
  if (!addon) return;
  const listener = await startNotifyListener(`@openstarry-test-${process.pid}-${Date.now()}`);
  t.teardown(() => listener.close());
  await createSdNotifier({ env: { NOTIFY_SOCKET: listener.address }, addon: { addon, file: '' } }).notify({ WATCHDOG: '1' });
  const m = await listener.waitFor('WATCHDOG=1', (x) => x.fields.WATCHDOG === '1');
  t.equal(m.pid, process.pid);
});

t.test('the real addon: errors come back as errno values, never thrown for a failed send', async (t) => {
  const addon = realAddon(t);
  if (!addon) return;
  const dir = await socketDir(t);
  t.equal(describeErrno(addon.send(path.join(dir, 'missing.sock'), 'READY=1')), 'ENOENT (no such file or directory)', 'a missing socket file');
  t.equal(describeErrno(addon.send(`@openstarry-nobody-${process.pid}-${Date.now()}`, 'READY=1')), 'ECONNREFUSED (connection refused)', 'an abstract name nobody listens on');
  t.equal(describeErrno(addon.send(`/${'a'.repeat(107)}`, 'READY=1')), 'EINVAL (invalid argument)', 'a path that does not fit sun_path with its NUL');
  t.equal(describeErrno(addon.send(`@${'a'.repeat(107)}`, 'READY=1')), 'EINVAL (invalid argument)', 'an abstract name that does not fit');
  t.equal(describeErrno(addon.send('relative/notify.sock', 'READY=1')), 'EAFNOSUPPORT (address family not supported)', 'neither / nor @');
  t.equal(describeErrno(addon.send('vsock:2:1234', 'READY=1')), 'EAFNOSUPPORT (address family not supported)', 'AF_VSOCK is not supported');
  t.equal(describeErrno(addon.send('/tmp/a\0b', 'READY=1')), 'EINVAL (invalid argument)', 'an embedded NUL');
  t.equal(describeErrno(addon.send('', 'READY=1')), 'EINVAL (invalid argument)', 'empty');
  t.equal(describeErrno(addon.send('/run/systemd/notify', '')), 'EINVAL (invalid argument)', 'an empty message');
  t.throws(() => addon.send(42 as unknown as string, 'READY=1'), { name: 'TypeError', message: 'socketPath must be a string' });
  t.throws(() => (addon.send as unknown as (p: string) => number)('/x'), { name: 'TypeError' });
  await t.rejects(createSdNotifier({ env: { NOTIFY_SOCKET: path.join(dir, 'missing.sock') }, addon: { addon, file: '' } }).notify({ READY: '1' }), {
    code: 'ERR_SD_NOTIFY_FAILED',
    message: `sd_notify to ${path.join(dir, 'missing.sock')}: ENOENT (no such file or directory)`,
  });
});

t.test('a real datagram: the systemd-notify fallback reaches the listener, with MAINPID naming this process', async (t) => {
  // A missing tool is a visible skip naming the Debian package, or a failure when OPENSTARRY_REQUIRE_SYSTEM_DEPS=1.
  if (!requireTool(t, 'python3', 'python3') || !requireTool(t, 'systemd-notify', 'systemd')) return;
  const listener = await startNotifyListener(path.join(await socketDir(t), 'notify.sock'));
  t.teardown(() => listener.close());
  // The daemon's env is injected: NOTIFY_SOCKET is not in process.env, and systemd-notify must still get it.
  t.equal(process.env.NOTIFY_SOCKET, undefined, 'this test process is not under systemd');
  const notifier = createSdNotifier({ env: { NOTIFY_SOCKET: listener.address }, addon: NO_ADDON });
  t.equal(notifier.transport, 'systemd-notify');
  // systemd-notify (>= 251) then waits on BARRIER=1 until the receiver closes the fd it passed; the listener does.
  await notifier.notify({ READY: '1' });
  const m = await listener.waitFor('READY=1', (x) => x.fields.READY === '1');
  t.equal(m.fields.MAINPID, String(process.pid), '--pid names this process as the main pid');
  // With CAP_SYS_ADMIN (root) systemd-notify presents the main pid in its SCM_CREDENTIALS; as the unprivileged
  // service user it cannot, the sender is the child, and systemd accepts it only with NotifyAccess=all.
  if (process.getuid?.() !== 0) t.not(m.pid, process.pid, 'the sender is a forked child');
});
