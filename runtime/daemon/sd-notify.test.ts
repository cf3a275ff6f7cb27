// sd_notify: nothing without NOTIFY_SOCKET; with it, `systemd-notify --pid=<pid> KEY=value...`. The last test
// sends a real datagram with the real systemd-notify binary to a socat listener standing in for systemd.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { requireTool } from '../../scripts/testing/system-deps.ts';
import { createSdNotifier } from './sd-notify.ts';

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function recorder() {
  const calls: { file: string; args: readonly string[] }[] = [];
  return {
    calls,
    run: async (file: string, args: readonly string[]) => {
      calls.push({ file, args });
    },
  };
}

t.test('without NOTIFY_SOCKET the notifier is disabled and never runs anything', async (t) => {
  for (const env of [{}, { NOTIFY_SOCKET: '' }, { NOTIFY_SOCKET: undefined }]) {
    const { calls, run } = recorder();
    const n = createSdNotifier({ env, run, pid: 42 });
    t.equal(n.enabled, false);
    await n.notify({ READY: '1' });
    await n.notify({ STOPPING: '1' });
    t.same(calls, [], JSON.stringify(env));
  }
});

t.test('with NOTIFY_SOCKET the runner gets systemd-notify, --pid and the fields', async (t) => {
  const { calls, run } = recorder();
  const n = createSdNotifier({ env: { NOTIFY_SOCKET: '/run/systemd/notify' }, run, pid: 4242 });
  t.equal(n.enabled, true);
  await n.notify({ READY: '1' });
  await n.notify({ STOPPING: '1', STATUS: 'shutting down' });
  t.same(calls, [
    { file: 'systemd-notify', args: ['--pid=4242', 'READY=1'] },
    { file: 'systemd-notify', args: ['--pid=4242', 'STOPPING=1', 'STATUS=shutting down'] },
  ]);
});

t.test('the pid defaults to this process and the binary can be overridden', async (t) => {
  const { calls, run } = recorder();
  await createSdNotifier({ env: { NOTIFY_SOCKET: '@abstract' }, run, binary: '/opt/bin/notify' }).notify({ READY: '1' });
  t.same(calls, [{ file: '/opt/bin/notify', args: [`--pid=${process.pid}`, 'READY=1'] }]);
});

t.test('a failing runner rejects notify()', async (t) => {
  const n = createSdNotifier({
    env: { NOTIFY_SOCKET: '/x' },
    run: async () => {
      throw new Error('exit 1');
    },
  });
  await t.rejects(n.notify({ READY: '1' }), { message: 'exit 1' });
});

t.test('a real datagram: systemd-notify reaches a socat listener on NOTIFY_SOCKET', async (t) => {
  // A missing tool is a visible skip naming the Debian package, or a failure when OPENSTARRY_REQUIRE_SYSTEM_DEPS=1.
  if (!requireTool(t, 'socat', 'socat') || !requireTool(t, 'systemd-notify', 'systemd')) return;

  // A Unix socket path is limited to 107 bytes (sun_path) and tap's testdirs are deep: when needed, reach the
  // testdir through a short symlink, so the socket file still lives (and is cleaned up) in the testdir.
  let dir = t.testdir({});
  if (Buffer.byteLength(path.join(dir, 'notify.sock')) > 100) {
    const short = await mkdtemp(path.join(tmpdir(), 'osn-'));
    t.teardown(() => rm(short, { recursive: true, force: true }));
    await symlink(dir, path.join(short, 'd'));
    dir = path.join(short, 'd');
  }
  const socket = path.join(dir, 'notify.sock');
  const socat = spawn('socat', ['-u', `UNIX-RECV:${socket}`, 'STDOUT'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => socat.once('close', () => resolve()));
  t.teardown(async () => {
    if (socat.exitCode === null && socat.signalCode === null) socat.kill('SIGKILL');
    await exited;
  });
  let received = '';
  let stderr = '';
  socat.stdout.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
  socat.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));

  // socat creates the socket file once it is listening.
  for (;;) {
    if (await stat(socket).then(() => true, () => false)) break;
    if (socat.exitCode !== null) throw new Error(`socat exited early: ${stderr}`);
    await pause(5);
  }

  // The daemon's env is injected: NOTIFY_SOCKET is not in process.env, and systemd-notify must still get it.
  t.equal(process.env.NOTIFY_SOCKET, undefined, 'this test process is not under systemd');
  const notifier = createSdNotifier({ env: { NOTIFY_SOCKET: socket } });
  t.equal(notifier.enabled, true);
  let sendError: unknown;
  const sent = notifier.notify({ READY: '1' }).catch((err: unknown) => {
    sendError = err ?? new Error('notify rejected');
  });

  // systemd-notify (>= 251) then waits on BARRIER=1 until the receiver closes the fd it passed; socat keeps it
  // open, so once the message is here socat is stopped, which releases the barrier.
  while (!received.includes('READY=1')) {
    if (sendError !== undefined) throw sendError;
    if (socat.exitCode !== null) throw new Error(`socat exited before the message arrived: ${stderr}`);
    await pause(5);
  }
  socat.kill('SIGTERM');
  await exited;
  await sent;
  t.equal(sendError, undefined, 'systemd-notify succeeded');
  t.match(received, /READY=1/);
  t.match(received, new RegExp(`MAINPID=${process.pid}\\b`), '--pid names this process as the main pid');
});
