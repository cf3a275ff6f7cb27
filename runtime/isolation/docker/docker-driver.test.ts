// The docker isolation driver against a real engine: podman's Docker-compatible API with runc (docs/ARCHITECTURE.md "Testing against real parts"), one
// service for this file (scripts/testing/podman.ts). Real containers from the real agent image: spawn, HAL calls
// answered by the real HAL over the sim board (binary camera frames included), state, stop, terminate, crash
// causes, the memory limit, the container wall (devices, network, root fs, capabilities) and orphan removal;
// then the shared isolation contract suite (runtime/isolation/isolation-contract.ts) against the same engine.
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import type Docker from 'dockerode';
import { loadProfiles } from '../../../board-profiles/detect.ts';
import type { BoardProfile } from '../../../board-profiles/profile-schema.ts';
import { openBoardHal } from '../../../hal/board-hal.ts';
import { systemClock } from '../../clock.ts';
import type { LifecycleNote, LogNote } from '../../core/channel-messages.ts';
import { loadBlueprint } from '../../design/blueprint.ts';
import { silentLogger } from '../../logging/logger.ts';
import { startPodman } from '../../../scripts/testing/podman.ts';
import type { IIsolate, IsolateOutput } from '../isolation-driver.ts';
import { LABELS } from './container-config.ts';
import { DockerDriver } from './docker-driver.ts';
import { runIsolationContract } from '../isolation-contract.ts';

const engine = await startPodman(t);
if (engine) await runSuite(engine);

async function runSuite(engine: NonNullable<Awaited<ReturnType<typeof startPodman>>>): Promise<void> {
  // The contract suite passes /tmp/openstarry-contract/<pid> as OPENSTARRY_HOME; the driver creates what it mounts.
  const contractHomes = '/tmp/openstarry-contract';
  const homesBefore = new Set(await readdir(contractHomes).catch(() => [] as string[]));
  t.teardown(async () => {
    for (const e of await readdir(contractHomes).catch(() => [] as string[])) if (!homesBefore.has(e)) await rm(path.join(contractHomes, e), { recursive: true, force: true });
    if (homesBefore.size === 0) await rm(contractHomes, { recursive: true, force: true });
  });
  // Short paths: the channel socket's path must stay under 108 bytes.
  const work = await mkdtemp(path.join(os.tmpdir(), 'os-dk-'));
  t.teardown(() => rm(work, { recursive: true, force: true }));
  const runDir = path.join(work, 'run');
  const daemonId = `test-${process.pid}`;
  const driver = await DockerDriver.open({ socketPath: engine.socketPath, image: engine.image, runDir, daemonId });
  t.teardown(() => driver.close());
  const docker: Docker = driver.docker;

  const profiles = await loadProfiles(path.resolve(import.meta.dirname, '../../../board-profiles'));
  const hal = await openBoardHal({ profile: profiles.get('sim') as BoardProfile, configDevices: [], clock: systemClock, log: silentLogger });
  t.teardown(() => hal.close());

  let nextPid = 100;
  async function startAgent(t: Test, main: string, extra: Record<string, unknown> = {}) {
    const dir = t.testdir({ 'agent.json': JSON.stringify({ id: 'probe', version: '1.0.0', plugins: ['./main.js'], isolation: 'docker', ...extra }), 'main.js': main });
    const blueprint = await loadBlueprint(`${dir}/agent.json`);
    const pid = String(nextPid++);
    hal.service.admit(pid, 'probe', blueprint.manifest.capabilities);
    const isolate = await driver.start({ pid, blueprint, env: { OPENSTARRY_AGENT_ID: 'probe', OPENSTARRY_HOME: path.join(work, 'homes', pid) } });
    hal.service.attach(pid, isolate.channel);
    const saved: unknown[] = [];
    isolate.channel.handle('state.load', () => ({ count: 41 }));
    isolate.channel.onNote('state.save', (v) => saved.push(v));
    const logs: LogNote[] = [];
    const output: IsolateOutput[] = [];
    const lifecycle: LifecycleNote[] = [];
    const first = new Promise<LifecycleNote>((resolve) => {
      isolate.channel.onNote('lifecycle', (p) => {
        lifecycle.push(p as LifecycleNote);
        resolve(p as LifecycleNote);
      });
    });
    isolate.channel.onNote('log', (p) => logs.push(p as LogNote));
    isolate.onOutput((o) => output.push(o));
    void isolate.exited.then(async () => {
      await hal.service.detach(pid);
      hal.service.release(pid);
    });
    t.teardown(() => isolate.terminate());
    return { isolate, pid, first, logs, output, saved, lifecycle };
  }

  const containerOf = (isolate: IIsolate) => docker.getContainer((isolate as unknown as { containerId: string }).containerId);
  const gone = async (isolate: IIsolate) => containerOf(isolate).inspect().then(() => false, (err: { statusCode?: number }) => err.statusCode === 404);

  t.test('an agent runs in its own container: osPid, DI env, HAL over the socket (real sim HAL, camera bytes), state, stop', async (t) => {
    const a = await startAgent(
      t,
      `export default { name: 'p', async start(ctx) {
        ctx.log.info('env', { id: process.env.OPENSTARRY_AGENT_ID, home: process.env.OPENSTARRY_HOME, path: process.env.PATH ?? null });
        const temp = await ctx.hal.getSensorData('temperature');
        ctx.log.info('temp ' + (typeof temp) + ' ' + (temp > 0 && temp < 60));
        try { await ctx.hal.controlActuator('fan', 'on'); } catch (e) { ctx.log.info('fan ' + e.code); }
        const reader = ctx.hal.getCameraStream('cam0').getReader();
        const { value } = await reader.read(); await reader.cancel();
        ctx.log.info('jpeg ' + (value instanceof Uint8Array) + ' ' + value[0].toString(16) + value[1].toString(16) + ' ' + (value.byteLength > 100));
        ctx.state.set({ count: ctx.state.get().count + 1 });
        ctx.bus.publish('k', { n: ctx.config.n }, { retain: true });
        console.log('to stdout');
        this.t = setInterval(() => {}, 1000);
      }, stop(ctx) { clearInterval(this.t); ctx.log.info('bye'); } };`,
      { config: { n: 21 }, capabilities: ['sensor:temperature:read', 'camera:cam0:stream'] },
    );
    t.same(await a.first, { state: 'running' });
    t.type(a.isolate.osPid, 'number', 'osPid from the container state');
    t.ok((a.isolate.osPid ?? 0) > 1);
    t.same(a.logs[0], { level: 'info', message: 'env', fields: { id: 'probe', home: path.join(work, 'homes', a.pid), path: null } }, 'only the DI variables; home at the same path inside');
    t.same(a.logs.slice(1).map((l) => l.message), ['temp number true', 'fan ERR_CAPABILITY_DENIED', 'jpeg true ffd8 true']);
    t.same(a.saved, [{ count: 42 }], 'hydrated from state.load, saved through state.save');
    t.same(await a.isolate.channel.request('agent.snapshot'), { k: { n: 21 } });
    const usage = await a.isolate.usage();
    t.ok(usage.memoryBytes > 0, `memory from container stats (${usage.memoryBytes} bytes)`);
    t.ok(usage.cpuPercent >= 0);
    // The engine's figure is the cgroup's (page cache the container's reads charged to it included); the supervisor's
    // soft check allows the container's own Node on top, so it never fires below the kernel's limit.
    const cgroupLimit = (await containerOf(a.isolate).inspect()).HostConfig.Memory ?? 0;
    t.equal(driver.baselineMemoryBytes, 48 * 1024 * 1024, "the container's own Node, as for a process agent");
    t.ok(64 * 1024 * 1024 * 1.25 + driver.baselineMemoryBytes >= cgroupLimit, `the soft check (${64 * 1.25 + 48} MB) is at or above the cgroup limit (${cgroupLimit / 2 ** 20} MB)`);
    await a.isolate.channel.request('agent.stop');
    t.same(await a.isolate.exited, { code: 0, cause: 'exit' });
    t.same(a.logs.at(-1)?.message, 'bye');
    t.same(a.output, [{ stream: 'stdout', line: 'to stdout' }], 'container output as lines');
    t.ok(await gone(a.isolate), 'the container is removed once it has exited');
    t.same((await readdir(runDir)).filter((e) => e.includes(`-${a.pid}-`)), [], 'its socket folder too');
  });

  t.test('terminate() kills and removes a busy container; idempotent', async (t) => {
    const a = await startAgent(t, `export default { name: 'p', start() { setTimeout(() => { for (;;) {} }, 1); } };`);
    t.same(await a.first, { state: 'running' });
    await a.isolate.terminate();
    await a.isolate.terminate();
    const exit = await a.isolate.exited;
    t.equal(exit.code, 137, 'SIGKILLed');
    t.equal(exit.cause, 'exit');
    t.ok(await gone(a.isolate));
    await t.rejects(a.isolate.channel.request('agent.snapshot'), { code: 'ERR_CHANNEL_CLOSED' });
  });

  t.test('a throw in start() is reported as crashed with its reason; exit code 1', async (t) => {
    const a = await startAgent(t, `export default { name: 'boom', start() { throw new Error('sensor missing'); } };`);
    const note = await a.first;
    t.equal(note.state, 'crashed');
    t.equal(note.error?.code, 'ERR_PLUGIN_START_FAILED');
    t.match(note.error?.message, /plugin "boom" failed to start: sensor missing/);
    t.same(await a.isolate.exited, { code: 1, cause: 'exit' });
  });

  t.test('an unhandled rejection after start is the uncaught error the host sent', async (t) => {
    const a = await startAgent(t, `export default { name: 'p', start() { setTimeout(() => Promise.reject(new Error('late failure')), 5); } };`);
    t.same(await a.first, { state: 'running' });
    const exit = await a.isolate.exited;
    t.equal(exit.cause, 'uncaught-error');
    t.match(exit.error?.message, /late failure/);
    t.equal(exit.code, 1);
  });

  t.test('an agent with nothing left to do ends by itself with code 0', async (t) => {
    const a = await startAgent(t, `export default { name: 'p', start() { console.error('done'); } };`);
    t.same(await a.first, { state: 'running' });
    t.same(await a.isolate.exited, { code: 0, cause: 'exit' });
    t.same(a.output, [{ stream: 'stderr', line: 'done' }]);
  });

  t.test('memory over the container limit: the cgroup OOM killer ends it, reported as out-of-memory', async (t) => {
    // Buffers live outside the V8 heap, so this is the cgroup limit (memoryMb + overhead), not --max-old-space-size.
    const a = await startAgent(t, `export default { name: 'p', start() { const hog = []; const grow = () => { hog.push(Buffer.alloc(4 << 20, 1)); setTimeout(grow, 1); }; grow(); } };`, { limits: { memoryMb: 16 } });
    const exit = await a.isolate.exited;
    t.equal(exit.cause, 'out-of-memory');
    t.equal(exit.error?.code, 'ERR_CONTAINER_OUT_OF_MEMORY');
    t.match(exit.error?.message, /64 MiB/);
    t.equal(exit.code, 137);
  });

  t.test('a 200 MB HAL call is over the channel cap: the container is ended as message-too-large', async (t) => {
    const a = await startAgent(t, `export default { name: 'p', start(ctx) { this.k = setInterval(() => {}, 60000); const mb = 'x'.repeat(1 << 20); setTimeout(() => ctx.hal.controlActuator('fan', new Array(200).fill(mb)).catch(() => {}), 20); } };`);
    t.same(await a.first, { state: 'running' });
    t.match(await a.isolate.exited, { cause: 'message-too-large', error: { code: 'ERR_MESSAGE_TOO_LARGE', message: /^message-too-large: \d+ bytes > 1048576$/ } });
    t.ok(await gone(a.isolate), 'the container is removed');
  });

  t.test('a JavaScript heap over limits.memoryMb is out-of-memory too', async (t) => {
    const a = await startAgent(t, `export default { name: 'p', start() { const hog = []; const grow = () => { for (let i = 0; i < 2e4; i++) hog.push({ i, s: 'x'.repeat(64) + i }); setImmediate(grow); }; grow(); } };`, { limits: { memoryMb: 16 } });
    const exit = await a.isolate.exited;
    t.equal(exit.cause, 'out-of-memory');
    t.equal(exit.error?.code, 'ERR_CONTAINER_OUT_OF_MEMORY');
  });

  t.test('the sandbox inside the container refuses node:fs, child_process, net (module policy as in a worker)', async (t) => {
    const a = await startAgent(t, `export default { name: 'p', async start(ctx) {
      for (const s of ['node:fs', 'node:child_process', 'node:net', 'node:worker_threads']) {
        try { await import(s); ctx.log.info('LOADED ' + s); } catch (e) { ctx.log.info(s + ' ' + e.code); }
      }
      setInterval(() => {}, 1000);
    } };`);
    t.same(await a.first, { state: 'running' });
    t.same(a.logs.map((l) => l.message), ['node:fs ERR_ISOLATE_DENIED', 'node:child_process ERR_ISOLATE_DENIED', 'node:net ERR_ISOLATE_DENIED', 'node:worker_threads ERR_ISOLATE_DENIED']);
  });

  t.test('the container wall itself (a probe run inside the agent container, past the module sandbox)', async (t) => {
    const a = await startAgent(t, `export default { name: 'p', start() { setInterval(() => {}, 1000); } };`);
    t.same(await a.first, { state: 'running' });
    const probe = `
      const fs = require('fs'), net = require('net'), cp = require('child_process');
      const r = {};
      r.uid = process.getuid();
      r.dev = fs.readdirSync('/dev').filter((d) => !['fd','full','mqueue','null','ptmx','pts','random','shm','stderr','stdin','stdout','tty','urandom','zero'].includes(d));
      for (const d of ['/dev/mem', '/dev/gpiomem', '/dev/i2c-1', '/dev/sda']) { try { fs.openSync(d, 'r'); r[d] = 'OPENED'; } catch (e) { r[d] = e.code; } }
      try { fs.writeFileSync('/usr/bin/x', 'x'); r.rootfs = 'WRITABLE'; } catch (e) { r.rootfs = e.code; }
      try { fs.readFileSync('/opt/openstarry/agent/main.js'); fs.writeFileSync('/opt/openstarry/agent/x', 'x'); r.agentDir = 'WRITABLE'; } catch (e) { r.agentDir = e.code; }
      try { fs.writeFileSync(process.env.OPENSTARRY_HOME + '/x', 'x'); r.home = 'writable'; } catch (e) { r.home = e.code; }
      const status = fs.readFileSync('/proc/self/status', 'utf8');
      r.capEff = /CapEff:\\s*(\\S+)/.exec(status)[1];
      r.noNewPrivs = /NoNewPrivs:\\s*(\\S+)/.exec(status)[1];
      r.nofile = /Max open files\\s+(\\d+)/.exec(fs.readFileSync('/proc/self/limits', 'utf8'))[1];
      r.ifaces = Object.keys(require('os').networkInterfaces());
      const s = net.connect({ host: '1.1.1.1', port: 80 });
      s.on('connect', () => { r.net = 'CONNECTED'; done(); });
      s.on('error', (e) => { r.net = e.code; done(); });
      function done() { console.log(JSON.stringify(r)); process.exit(0); }
    `;
    const exec = await containerOf(a.isolate).exec({ Cmd: ['/usr/bin/node', '-e', probe], AttachStdout: true, AttachStderr: true, User: '65534:65534', Env: [`OPENSTARRY_HOME=${path.join(work, 'homes', a.pid)}`] });
    // podman keeps an exec session's conmon alive for 5 minutes after the exec ends (--exit-delay 300), even once
    // the container is removed: end exactly those processes (by pid, found by this container's id).
    const containerId = (a.isolate as unknown as { containerId: string }).containerId;
    t.teardown(() => killExecMonitors(containerId));
    const stream = await exec.start({ hijack: true, stdin: false });
    const chunks: Buffer[] = [];
    const { PassThrough } = await import('node:stream');
    const out = new PassThrough();
    const err = new PassThrough();
    out.on('data', (c: Buffer) => chunks.push(c));
    err.on('data', (c: Buffer) => chunks.push(c));
    docker.modem.demuxStream(stream, out, err);
    await new Promise((r) => stream.once('end', r));
    const text = Buffer.concat(chunks).toString();
    const r = JSON.parse(text.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
    t.equal(r.uid, 65534, 'not root');
    t.same(r.dev, [], 'no device nodes beyond the pseudo-devices every container has');
    t.same([r['/dev/mem'], r['/dev/gpiomem'], r['/dev/i2c-1'], r['/dev/sda']], ['ENOENT', 'ENOENT', 'ENOENT', 'ENOENT']);
    t.equal(r.rootfs, 'EROFS', 'read-only root file system');
    t.equal(r.agentDir, 'EROFS', 'the template is mounted read-only');
    t.equal(r.home, 'writable', "the agent's home is writable");
    t.equal(r.capEff, '0000000000000000', 'no capabilities');
    t.equal(r.noNewPrivs, '1');
    t.equal(r.nofile, '1024');
    t.same(r.ifaces, ['lo'], 'network none: loopback only');
    t.equal(r.net, 'ENETUNREACH', 'no route out');
  });

  t.test('orphans: containers labelled as this daemon\'s that a previous run left are removed at driver start', async (t) => {
    const orphan = await docker.createContainer({
      Image: engine.image,
      Entrypoint: ['/usr/bin/node'],
      Cmd: ['-e', 'setInterval(() => {}, 1000)'],
      Labels: { [LABELS.daemon]: `${daemonId}-old`, [LABELS.pid]: '1', [LABELS.agent]: 'ghost' },
      HostConfig: { NetworkMode: 'none', Ulimits: [{ Name: 'nofile', Soft: 1024, Hard: 1024 }, { Name: 'nproc', Soft: 512, Hard: 512 }] },
    });
    await orphan.start();
    const other = await docker.createContainer({ Image: engine.image, Cmd: ['-e', '0'], Labels: { [LABELS.daemon]: 'someone-else' }, HostConfig: { NetworkMode: 'none' } });
    t.teardown(() => other.remove({ force: true }).catch(() => undefined));
    t.teardown(() => orphan.remove({ force: true }).catch(() => undefined));
    const next = await DockerDriver.open({ socketPath: engine.socketPath, image: engine.image, runDir: path.join(work, 'run-old'), daemonId: `${daemonId}-old` });
    t.teardown(() => next.close());
    t.equal(await orphan.inspect().then(() => 200, (err: { statusCode?: number }) => err.statusCode), 404, 'the orphan is gone');
    t.equal(await other.inspect().then(() => 200, (err: { statusCode?: number }) => err.statusCode), 200, "another daemon's container is left alone");
    t.equal(await next.removeOrphans(), 0, 'nothing left on a second pass');
  });

  t.test('a missing image or a dead engine fails open() with ERR_ISOLATION_UNAVAILABLE', async (t) => {
    await t.rejects(DockerDriver.open({ socketPath: engine.socketPath, image: 'localhost/openstarry-agent:nope', runDir: path.join(work, 'x') }), { code: 'ERR_ISOLATION_UNAVAILABLE', message: /not found/ });
    await t.rejects(DockerDriver.open({ socketPath: path.join(work, 'no.sock'), runDir: path.join(work, 'x') }), { code: 'ERR_ISOLATION_UNAVAILABLE', message: /does not answer/ });
  });

  await t.test('the shared isolation contract', async (t) => {
    await runIsolationContract(t, {
      name: 'docker',
      makeDriver: () => DockerDriver.open({ socketPath: engine.socketPath, image: engine.image, runDir: path.join(work, 'run-contract'), daemonId: `${daemonId}-contract` }),
      ownProcess: true,
    });
  });

  t.test('no container of this daemon is left after the tests above', async (t) => {
    for (const id of [daemonId, `${daemonId}-contract`]) {
      const left = await docker.listContainers({ all: true, filters: { label: [`${LABELS.daemon}=${id}`] } });
      t.same(left.map((c) => c.Names), [], id);
    }
  });
}

async function killExecMonitors(containerId: string): Promise<void> {
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    const args = cmdline.split('\0');
    if (args[0]?.endsWith('conmon') && args.includes('--exec-attach') && args.includes(containerId)) {
      try {
        process.kill(Number(entry), 'SIGTERM');
      } catch {
        // already gone
      }
    }
  }
}
