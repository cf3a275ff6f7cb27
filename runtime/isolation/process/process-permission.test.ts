// The process isolate's second wall, Node's permission model, checked directly: a probe run under exactly the
// isolate's flags (processIsolateArgs) tries what a sandbox escape would try. Then the same through the driver, from
// agent code that got hold of the real `process` by a prototype trick. Also: the DI-only environment, runAs, and an
// isolate ending when its daemon's end of the channel (fd 3) goes away.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { Socket } from 'node:net';
import path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import type { LifecycleNote, LogNote } from '../../core/channel-messages.ts';
import { loadBlueprint } from '../../design/blueprint.ts';
import { BOOTSTRAP_NOTE } from '../docker/container-protocol.ts';
import { SocketPort } from '../docker/socket-port.ts';
import { defaultLauncher, processIsolateArgs, ProcessDriver } from './process-driver.ts';
import { permissionFlag } from './permission-flag.ts';
import { parseStatCpuSeconds, parseStatusRssBytes } from './proc-usage.ts';

const driver = new ProcessDriver();
t.teardown(() => driver.close());

/** What a sandbox escape would try, run as the isolate's entry; prints one JSON line of outcomes. */
const PROBE = `
import fs from 'node:fs';
import net from 'node:net';
const out = {};
const attempt = async (name, f) => { try { const v = await f(); out[name] = { ok: true, value: String(v).slice(0, 60) }; } catch (e) { out[name] = { ok: false, code: e.code, permission: e.permission }; } };
await attempt('read /dev/null', () => fs.readFileSync('/dev/null'));
await attempt('open /dev/mem', () => fs.openSync('/dev/mem', 'r'));
await attempt('list /dev', () => fs.readdirSync('/dev'));
await attempt('read /etc/passwd', () => fs.readFileSync('/etc/passwd'));
await attempt('read the agent folder', () => fs.readdirSync(process.env.AGENT_DIR ?? '/'));
await attempt('write /tmp', () => fs.writeFileSync('/tmp/openstarry-probe-' + process.pid, 'x'));
await attempt('spawn', async () => (await import('node:child_process')).spawnSync('/bin/true').status);
await attempt('exec', async () => (await import('node:child_process')).execSync('true'));
await attempt('worker', async () => { const { Worker } = await import('node:worker_threads'); const w = new Worker('0', { eval: true }); await w.terminate(); });
await attempt('process.binding(fs)', () => process.binding('fs'));
await attempt('dlopen', () => process.dlopen({ exports: {} }, '/nonexistent.node'));
await attempt('wasi', async () => new (await import('node:wasi')).WASI({ version: 'preview1' }));
await attempt('inspector', async () => (await import('node:inspector')).open(0));
// Not covered by Node 20's permission model: recorded so a change in Node shows up here.
await attempt('tcp connect', () => new Promise((resolve, reject) => { const s = net.connect(Number(process.env.PROBE_PORT), '127.0.0.1', () => { s.destroy(); resolve('connected'); }); s.on('error', reject); }));
await attempt('signal the parent (0)', () => process.kill(process.ppid, 0));
console.log(JSON.stringify(out));
`;

t.test('the permission wall under the isolate flags: /dev, files, writes, processes, threads, addons refused', async (t) => {
  const dir = t.testdir({ 'probe.mjs': PROBE, agent: { 'main.js': 'export default {}' } });
  const server = createServer((s) => s.destroy());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as { port: number }).port;
  const [command, ...pre] = [...defaultLauncher(), process.execPath];
  const child = spawn(command as string, [...pre, ...processIsolateArgs(path.join(dir, 'probe.mjs'), 64)], {
    env: { PROBE_PORT: String(port), AGENT_DIR: path.join(dir, 'agent') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((r) => child.once('close', r));
  t.equal(code, 0, `probe ran (stderr: ${stderr})`);
  const out = JSON.parse(stdout) as Record<string, { ok: boolean; code?: string; permission?: string }>;
  const refused: Record<string, string> = {
    'read /dev/null': 'FileSystemRead',
    'open /dev/mem': 'FileSystemRead',
    'list /dev': 'FileSystemRead',
    'read /etc/passwd': 'FileSystemRead',
    'read the agent folder': 'FileSystemRead',
    'write /tmp': 'FileSystemWrite',
    spawn: 'ChildProcess',
    exec: 'ChildProcess',
    worker: 'WorkerThreads',
    wasi: 'WASI',
  };
  for (const [name, permission] of Object.entries(refused)) t.match(out[name], { ok: false, code: 'ERR_ACCESS_DENIED', permission }, `${name}: ERR_ACCESS_DENIED (${permission})`);
  t.match(out['process.binding(fs)'], { ok: false, code: 'ERR_ACCESS_DENIED' }, 'process.binding refused');
  t.match(out.dlopen, { ok: false, code: 'ERR_DLOPEN_DISABLED' }, 'native addons refused');
  t.match(out.inspector, { ok: false, code: 'ERR_ACCESS_DENIED' }, 'the inspector refused');
  // The documented gaps of Node 20's permission model (the module sandbox refuses node:net and process.kill to
  // agent code; runAs is the OS-level answer).
  t.match(out['tcp connect'], { ok: true, value: 'connected' }, 'GAP: the network is not covered by the Node 20 permission model');
  t.match(out['signal the parent (0)'], { ok: true }, 'GAP: signals to other processes are not covered');
});

async function startProbe(t: Test, main: string, extra: { runAs?: { uid: number; gid: number } } = {}) {
  const dir = t.testdir({ 'agent.json': JSON.stringify({ id: 'probe', version: '1.0.0', plugins: ['./main.js'] }), 'main.js': main });
  const blueprint = await loadBlueprint(`${dir}/agent.json`);
  const d = extra.runAs ? new ProcessDriver({ runAs: extra.runAs, entry: await driver.entryPath() }) : driver;
  const isolate = await d.start({ pid: 'p1', blueprint, env: { OPENSTARRY_AGENT_ID: 'probe', OPENSTARRY_HOME: '/tmp/probe-home' } });
  isolate.channel.handle('state.load', () => null);
  const logs: LogNote[] = [];
  isolate.channel.onNote('log', (p) => logs.push(p as LogNote));
  const first = new Promise<LifecycleNote>((r) => isolate.channel.onNote('lifecycle', (p) => r(p as LifecycleNote)));
  t.teardown(() => isolate.terminate());
  return { isolate, logs, first };
}

t.test('agent code holding the real process (prototype trick) still meets both walls', async (t) => {
  const { isolate, logs, first } = await startProbe(t, `import { EventEmitter } from 'node:events';
    export default { name: 'escape', async start(ctx) {
      const emit = EventEmitter.prototype.emit;
      let real;
      EventEmitter.prototype.emit = function (...a) { if (this && typeof this.pid === 'number' && this !== process) real = this; return emit.apply(this, a); };
      process.emitWarning('trick');
      await new Promise((r) => setTimeout(r, 20));
      EventEmitter.prototype.emit = emit;
      ctx.log.info('got real process', { got: real !== undefined && real !== process });
      const tries = {
        binding: () => real.binding('fs'),
        linkedBinding: () => real._linkedBinding('fs'),
        getBuiltinModule: () => real.getBuiltinModule('node:child_process'),
        dlopen: () => real.dlopen({ exports: {} }, '/x.node'),
        kill: () => real.kill(real.ppid, 'SIGTERM'),
      };
      for (const [k, f] of Object.entries(tries)) { try { f(); ctx.log.info('ALLOWED ' + k); } catch (e) { ctx.log.info('refused ' + k, { code: e.code }); } }
      ctx.log.info('permissions', { devMem: real.permission.has('fs.read', '/dev/mem'), devNull: real.permission.has('fs.read', '/dev/null'), write: real.permission.has('fs.write', '/tmp'), child: real.permission.has('child'), worker: real.permission.has('worker') });
    } };`);
  t.same(await first, { state: 'running' });
  await isolate.exited;
  t.same(logs.find((l) => l.message === 'got real process')?.fields, { got: true }, 'the trick works: agent code has the real process object');
  for (const k of ['binding', 'linkedBinding', 'getBuiltinModule', 'dlopen', 'kill']) {
    t.same(logs.find((l) => l.message.endsWith(` ${k}`))?.fields, { code: 'ERR_ISOLATE_DENIED' }, `real process.${k} refused by the hardening`);
  }
  t.same(logs.find((l) => l.message === 'permissions')?.fields, { devMem: false, devNull: false, write: false, child: false, worker: false }, 'the permission model grants none of it');
});

t.test('the child sees only the DI environment; osPid is a real process of its own', async (t) => {
  const { isolate, first } = await startProbe(t, "export default { name: 'idle', start() { this.t = setInterval(() => {}, 1000); }, stop() { clearInterval(this.t); } };");
  t.same(await first, { state: 'running' });
  const environ = (await readFile(`/proc/${isolate.osPid}/environ`, 'utf8')).split('\0').filter(Boolean).map((kv) => kv.split('=')[0] as string);
  const ours = environ.filter((k) => !k.startsWith('_TAPJS_')); // added by tap's spawn hook in tests only
  t.same(ours.sort(), ['OPENSTARRY_AGENT_ID', 'OPENSTARRY_HOME'], 'no PATH, no HOME, no NODE_OPTIONS (and no NODE_CHANNEL_*: the channel is fd 3, not Node IPC)');
  const cmdline = (await readFile(`/proc/${isolate.osPid}/cmdline`, 'utf8')).split('\0');
  t.equal(cmdline[0], process.execPath, 'the launcher exec()ed node: osPid is node');
  t.ok(cmdline.includes(permissionFlag()), `the permission flag as ${process.version} spells it`);
});

t.test('runAs: the child runs as an unprivileged user', { skip: process.getuid?.() !== 0 ? 'needs root' : false }, async (t) => {
  const { isolate, first } = await startProbe(t, "export default { name: 'idle', start() { this.t = setInterval(() => {}, 1000); }, stop() { clearInterval(this.t); } };", { runAs: { uid: 65534, gid: 65534 } });
  t.same(await first, { state: 'running' });
  const status = await readFile(`/proc/${isolate.osPid}/status`, 'utf8');
  t.match(status, /^Uid:\s+65534\s+65534\s+65534\s+65534$/m);
  await isolate.channel.request('agent.stop');
  t.equal((await isolate.exited).code, 0);
});

t.test('an isolate ends when the daemon end of its channel (fd 3) goes away (no orphaned agents)', async (t) => {
  const entry = await driver.entryPath();
  const [command, ...pre] = [...defaultLauncher(), process.execPath];
  const child = spawn(command as string, [...pre, ...processIsolateArgs(entry, 64)], { env: {}, stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
  t.teardown(() => void child.kill('SIGKILL'));
  const port = new SocketPort();
  port.attach(child.stdio[3] as Socket);
  const running = new Promise<void>((resolve) => port.onMessage((message) => {
    const m = message as { t?: string; method?: string; id?: number };
    if (m.t === 'req' && m.method === 'state.load') port.post({ t: 'res', id: m.id as number, ok: true, result: null });
    if (m.t === 'note' && m.method === 'lifecycle') resolve();
  }));
  port.post({ t: 'note', method: BOOTSTRAP_NOTE, params: { pid: 'x', agentId: 'forever', rootDir: '/agent', plugins: ['./main.js'], files: { 'main.js': "export default { name: 'f', start() { setInterval(() => {}, 1000); } };" }, config: {} } });
  await running;
  const closed = new Promise<[number | null, string | null]>((r) => child.once('exit', (code, signal) => r([code, signal])));
  port.close();
  t.same(await closed, [0, null], 'exited by itself');
});

t.test('procfs parsing: a command name with spaces and parentheses; VmRSS', async (t) => {
  const stat = '4242 (node (x) y) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 75 0 0 20 0 11 0 999 123456 789';
  t.equal(parseStatCpuSeconds(stat), 3.25, 'utime 250 + stime 75 ticks at 100 Hz');
  t.equal(parseStatusRssBytes('Name:\tnode\nVmRSS:\t   51200 kB\nThreads: 7\n'), 51200 * 1024);
  t.equal(parseStatusRssBytes('Name:\tnode\n'), undefined);
});
