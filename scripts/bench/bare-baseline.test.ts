// The bench's bare Node baseline is a real program: run by plain node it holds one worker thread, listens on the
// Unix socket it is given, sends READY=1 from its own pid to a real NOTIFY_SOCKET listener through the sd_notify
// addon, and starts more workers when asked on stdin. Nothing about its speed is asserted here.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { loadSdNotifyAddon } from '../../runtime/daemon/sd-notify-addon.ts';
import { startNotifyListener } from '../testing/notify-listener.ts';
import { requirePart, requireTool } from '../testing/system-deps.ts';
import { BARE_BASELINE, bareBaselineArgs, bootToReady } from './notify-boot.ts';
import { stop } from './measure.ts';

t.test('READY=1 from its own pid after listening on the socket; "workers N" adds N workers', async (t) => {
  if (!requireTool(t, 'python3', 'python3')) return;
  const load = loadSdNotifyAddon();
  if (!requirePart(t, 'addon' in load, `the sd_notify addon is not built (${'error' in load ? load.error : ''}): npm run build`)) return;
  // A short folder: sun_path holds 107 bytes.
  const dir = await mkdtemp(path.join(tmpdir(), 'osb-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const listener = await startNotifyListener(path.join(dir, 'notify.sock'));
  t.teardown(() => listener.close());

  const args = bareBaselineArgs(dir, 0);
  const booted = await bootToReady(process.execPath, args, process.env, listener);
  t.teardown(() => stop(booted.child));
  t.ok(existsSync(args[2] as string), 'its Unix socket is there when READY=1 arrives');
  t.equal(listener.messages.filter((m) => m.pid === booted.child.pid).length, 1, 'one READY=1, from its own pid');

  let out = '';
  booted.child.stdout?.setEncoding('utf8').on('data', (c: string) => (out += c));
  booted.child.stdin?.write('workers 3\n');
  await new Promise<void>((resolve) => {
    const check = () => (/^workers 4$/m.test(out) ? resolve() : setTimeout(check, 20));
    check();
  });
  t.pass('it holds 4 workers after "workers 3"');
});

t.test('without NOTIFY_SOCKET it only prints ready (the idle baseline)', async (t) => {
  const env = { ...process.env };
  delete env.NOTIFY_SOCKET;
  const child = spawn(process.execPath, [BARE_BASELINE], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  t.teardown(() => stop(child));
  const first = await new Promise<string>((resolve) => child.stdout.setEncoding('utf8').once('data', resolve));
  t.equal(first.trim(), 'ready');
});

t.test('--jit-once: V8 optimizes its hash function before "ready" (node --trace-opt says so)', async (t) => {
  const env = { ...process.env };
  delete env.NOTIFY_SOCKET;
  const child = spawn(process.execPath, ['--trace-opt', BARE_BASELINE, '--jit-once'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  t.teardown(() => stop(child));
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  await new Promise<void>((resolve) => {
    const check = () => (/^ready$/m.test(out) ? resolve() : setTimeout(check, 20));
    check();
  });
  t.match(out, /completed (optimizing|compiling) .*<JSFunction hash /, 'the optimizing compiler ran on hash()');
});
