/**
 * The contract every isolation driver keeps (docs/ARCHITECTURE.md "Contract, real and sim bindings"; spec 000 §2.1), as one tap suite
 * that each driver's test file runs against its real isolate:
 *
 *   import t from 'tap';
 *   import { runIsolationContract } from '../isolation-contract.ts';
 *   await runIsolationContract(t, { name: 'worker', makeDriver: () => new WorkerDriver() });
 *
 * What it checks, through the driver's interface only (IIsolationDriver / IIsolate) and the one channel protocol:
 *   lifecycle     spawn -> note lifecycle {running}; usage() answers; osPid for drivers that run their own process
 *   hal           HAL calls answered by the REAL daemon-side HAL service over the sim board (sensor read, a call
 *                 outside the grant refused with ERR_CAPABILITY_DENIED, a camera frame: binary payload)
 *   state         hydrate via `state.load` before start(ctx), save via the `state.save` note
 *   events        ctx.events round trip — a todo until the core has ctx.events
 *   stop          agent.stop runs stop(ctx), the isolate ends with code 0 (the supervisor's SIGTERM with grace)
 *   kill          terminate() ends even a busy isolate (SIGKILL), idempotent, and the OS process is gone
 *   crash         a throw in start(ctx) -> lifecycle crashed with the error; an unhandled rejection -> exit with
 *                 cause 'uncaught-error' and the error; an agent with nothing left to do ends with code 0
 *   outOfMemory   heap over limits.memoryMb -> cause 'out-of-memory'
 *   output        console.log/console.error lines reach onOutput
 *   denied        node:fs (static and dynamic import, getBuiltinModule) and reads of /dev/null and /dev/mem are
 *                 refused with ERR_ISOLATE_DENIED (module sandbox) or ERR_ACCESS_DENIED (Node's permission
 *                 model), and the refusals are visible (logged by the agent, crash note for a static import)
 *
 * A driver that cannot do something says so with a reason (`unsupported: { outOfMemory: 'why' }`): the test
 * becomes a visible skip naming the reason, never a silent pass.
 *
 * Timing contract the suite relies on (the supervisor relies on it too): handlers registered on `isolate.channel`
 * synchronously after `await driver.start()` see every message the isolate sends, including its first
 * `state.load` request and HAL calls made in start(ctx).
 */
import path from 'node:path';
import type { Test } from 'tap';
import { loadProfiles, PROFILES_DIR } from '../../board-profiles/detect.ts';
import type { BoardProfile } from '../../board-profiles/profile-schema.ts';
import { openBoardHal } from '../../hal/board-hal.ts';
import type { BoardHal } from '../../hal/board-hal.ts';
import { systemClock } from '../clock.ts';
import type { LifecycleNote, LogNote } from '../core/channel-messages.ts';
import { ErrorCode } from '../core/errors.ts';
import type { JsonValue } from '../core/json-value.ts';
import { loadBlueprint } from '../design/blueprint.ts';
import { silentLogger } from '../logging/logger.ts';
import type { IIsolate, IIsolationDriver, IsolateOutput } from './isolation-driver.ts';

export type ContractFeature = 'lifecycle' | 'hal' | 'camera' | 'state' | 'events' | 'stop' | 'kill' | 'crash' | 'outOfMemory' | 'output' | 'denied';

export interface IsolationContractOptions {
  /** Shown in test names. */
  name: string;
  makeDriver: () => IIsolationDriver | Promise<IIsolationDriver>;
  /** Features this driver cannot offer, each with the reason; those tests are skipped with it. */
  unsupported?: Partial<Record<ContractFeature, string>>;
  /** True when each isolate is an OS process of its own (process, docker): osPid must be set and gone after kill. */
  ownProcess?: boolean;
  /** Error codes that count as a refusal of a file or device read (default both walls: sandbox, permission model). */
  refusalCodes?: readonly string[];
}

export interface StartedAgent {
  isolate: IIsolate;
  lifecycle: LifecycleNote[];
  logs: LogNote[];
  output: IsolateOutput[];
  /** The first lifecycle note (running or crashed). */
  first: Promise<LifecycleNote>;
  /** The next log note whose message matches. */
  logged(match: RegExp): Promise<LogNote>;
  saved: unknown[];
}

export interface AgentFixture {
  files: Record<string, string | Record<string, string>>;
  manifest?: Record<string, unknown>;
  /** What `state.load` answers (default: no snapshot). */
  snapshot?: JsonValue;
  /** Attach the real HAL service (sim board) with these capabilities. */
  capabilities?: readonly string[];
}

let nextPid = 1;

export async function runIsolationContract(t: Test, options: IsolationContractOptions): Promise<void> {
  const driver = await options.makeDriver();
  t.teardown(async () => driver.close?.());
  const refusals = options.refusalCodes ?? [ErrorCode.ISOLATE_DENIED, ErrorCode.ACCESS_DENIED];
  let boardHal: Promise<BoardHal> | undefined;
  const openHal = () =>
    (boardHal ??= (async () => {
      const profiles = await loadProfiles(path.resolve(PROFILES_DIR));
      const hal = await openBoardHal({ profile: profiles.get('sim') as BoardProfile, configDevices: [], clock: systemClock, log: silentLogger });
      t.teardown(() => hal.close());
      return hal;
    })());

  async function startAgent(tt: Test, fixture: AgentFixture): Promise<StartedAgent> {
    const dir = tt.testdir({ 'agent.json': JSON.stringify({ id: 'probe', version: '1.0.0', plugins: ['./main.js'], ...fixture.manifest }), ...fixture.files });
    const blueprint = await loadBlueprint(`${dir}/agent.json`);
    const pid = `c${nextPid++}`;
    const hal = fixture.capabilities ? await openHal() : undefined;
    hal?.service.admit(pid, blueprint.manifest.id, fixture.capabilities ?? []);
    const isolate = await driver.start({ pid, blueprint, env: { OPENSTARRY_AGENT_ID: blueprint.manifest.id, OPENSTARRY_HOME: `/tmp/openstarry-contract/${pid}` } });
    // Everything below is registered synchronously after start() (see the timing contract in the header).
    if (hal) {
      hal.service.attach(pid, isolate.channel);
      void isolate.exited.then(async () => {
        await hal.service.detach(pid);
        hal.service.release(pid);
      });
    }
    const saved: unknown[] = [];
    isolate.channel.handle('state.load', () => fixture.snapshot ?? null);
    isolate.channel.onNote('state.save', (v) => saved.push(v));
    const lifecycle: LifecycleNote[] = [];
    const logs: LogNote[] = [];
    const output: IsolateOutput[] = [];
    const logWaiters: { match: RegExp; resolve: (n: LogNote) => void }[] = [];
    let firstResolve: (n: LifecycleNote) => void = () => undefined;
    const first = new Promise<LifecycleNote>((resolve) => (firstResolve = resolve));
    isolate.channel.onNote('lifecycle', (p) => {
      lifecycle.push(p as LifecycleNote);
      firstResolve(p as LifecycleNote);
    });
    isolate.channel.onNote('log', (p) => {
      const note = p as LogNote;
      logs.push(note);
      for (const w of logWaiters.filter((x) => x.match.test(note.message))) {
        logWaiters.splice(logWaiters.indexOf(w), 1);
        w.resolve(note);
      }
    });
    isolate.onOutput((o) => output.push(o));
    tt.teardown(() => isolate.terminate());
    const logged = (match: RegExp) => {
      const seen = logs.find((l) => match.test(l.message));
      return seen ? Promise.resolve(seen) : new Promise<LogNote>((resolve) => logWaiters.push({ match, resolve }));
    };
    return { isolate, lifecycle, logs, output, first, logged, saved };
  }

  const feature = (f: ContractFeature, title: string, fn: (tt: Test) => Promise<void>) => {
    const reason = options.unsupported?.[f];
    if (reason !== undefined) return t.test(`[${options.name}] ${title}`, { skip: `${options.name} driver: ${reason}` }, fn);
    return t.test(`[${options.name}] ${title}`, fn);
  };

  await feature('lifecycle', 'spawn -> running; usage answers; osPid for an own process', async (tt) => {
    const a = await startAgent(tt, { files: { 'main.js': "export default { name: 'p', start(ctx) { this.t = setInterval(() => {}, 1000); ctx.log.info('env', { id: process.env.OPENSTARRY_AGENT_ID, home: process.env.OPENSTARRY_HOME, path: process.env.PATH ?? null }); }, stop() { clearInterval(this.t); } };" } });
    tt.same(await a.first, { state: 'running' });
    tt.same((await a.logged(/^env$/)).fields, { id: 'probe', home: `/tmp/openstarry-contract/c${nextPid - 1}`, path: null }, 'only the DI variables reach agent code');
    const usage = await a.isolate.usage();
    tt.ok(Number.isFinite(usage.cpuPercent) && usage.cpuPercent >= 0, 'cpuPercent is a number >= 0');
    tt.ok(usage.memoryBytes > 0, 'memory reported');
    if (options.ownProcess) {
      tt.ok(Number.isInteger(a.isolate.osPid) && (a.isolate.osPid ?? 0) > 0, `osPid ${String(a.isolate.osPid)}`);
      tt.not(a.isolate.osPid, process.pid, 'not the daemon');
    }
    await a.isolate.terminate();
  });

  await feature('hal', 'HAL calls are answered by the daemon-side HAL service (sim board); outside the grant is refused', async (tt) => {
    const a = await startAgent(tt, {
      capabilities: ['sensor:env0:read'],
      files: {
        'main.js': `export default { name: 'h', async start(ctx) {
          const t = await ctx.hal.getSensorData('env0.temperature');
          ctx.log.info('temperature', { t, type: typeof t });
          try { await ctx.hal.controlActuator('fan', 'on'); ctx.log.info('fan ALLOWED'); } catch (e) { ctx.log.info('fan refused', { code: e.code }); }
        } };`,
      },
    });
    tt.same(await a.first, { state: 'running' });
    const reading = await a.logged(/^temperature$/);
    tt.equal(reading.fields?.type, 'number');
    tt.ok((reading.fields?.t as number) > -40 && (reading.fields?.t as number) < 85, `a BME280 temperature: ${String(reading.fields?.t)}`);
    tt.same((await a.logged(/^fan /)).fields, { code: 'ERR_CAPABILITY_DENIED' });
    tt.same(await a.isolate.exited, { code: 0, cause: 'exit' }, 'ends by itself once nothing is pending');
  });

  await feature('camera', 'a camera frame (binary payload) crosses the channel intact', async (tt) => {
    const a = await startAgent(tt, {
      capabilities: ['camera:cam0:stream'],
      files: {
        'main.js': `export default { name: 'c', async start(ctx) {
          const reader = ctx.hal.getCameraStream('cam0').getReader();
          const { value } = await reader.read();
          await reader.cancel();
          ctx.log.info('frame', { isU8: value instanceof Uint8Array, bytes: value.byteLength, soi: [value[0], value[1]], eoi: [value[value.length - 2], value[value.length - 1]] });
        } };`,
      },
    });
    tt.same(await a.first, { state: 'running' });
    const f = (await a.logged(/^frame$/)).fields ?? {};
    tt.equal(f.isU8, true, 'a Uint8Array in agent code');
    tt.ok((f.bytes as number) > 100, `${String(f.bytes)} bytes`);
    tt.same([f.soi, f.eoi], [[0xff, 0xd8], [0xff, 0xd9]], 'a whole JPEG (SOI ... EOI)');
  });

  await feature('state', 'state hydrates from state.load before start(ctx) and saves through the state.save note', async (tt) => {
    const a = await startAgent(tt, {
      snapshot: { count: 41, list: [1, 'two'] },
      files: { 'main.js': "export default { name: 's', start(ctx) { const s = ctx.state.get(); ctx.log.info('hydrated', { s }); ctx.state.set({ count: s.count + 1, list: s.list }); } };" },
    });
    tt.same(await a.first, { state: 'running' });
    tt.same((await a.logged(/^hydrated$/)).fields, { s: { count: 41, list: [1, 'two'] } });
    await a.isolate.exited;
    tt.same(a.saved.at(-1), { count: 42, list: [1, 'two'] }, 'the last saved snapshot');
  });

  await feature('events', 'ctx.events round trip', async (tt) => {
    const a = await startAgent(tt, { files: { 'main.js': "export default { name: 'e', start(ctx) { ctx.log.info('events', { has: typeof ctx.events === 'object' && ctx.events !== null }); } };" } });
    const has = (await a.logged(/^events$/)).fields?.has === true;
    // The channel methods of ctx.events are not defined yet (spec 002 / README "Writing an agent"): once the core has them,
    // this becomes a publish -> daemon -> on(handler) round trip.
    tt.ok(true, 'ctx.events round trip', { todo: has ? 'ctx.events exists: write the round trip' : 'ctx.events is not in the core yet' });
  });

  await feature('stop', 'agent.stop runs stop(ctx) and the isolate ends with code 0 (SIGTERM with grace)', async (tt) => {
    const a = await startAgent(tt, { files: { 'main.js': "export default { name: 'p', start() { this.t = setInterval(() => {}, 1000); }, async stop(ctx) { clearInterval(this.t); await new Promise((r) => setTimeout(r, 20)); ctx.log.info('bye'); } };" } });
    tt.same(await a.first, { state: 'running' });
    await a.isolate.channel.request('agent.stop');
    tt.same(await a.isolate.exited, { code: 0, cause: 'exit' });
    tt.same(a.logs.map((l) => l.message), ['bye'], 'stop(ctx) ran');
    tt.same(a.lifecycle.map((l) => l.state), ['running', 'stopped']);
  });

  await feature('kill', 'terminate() ends a busy isolate (SIGKILL), is idempotent, leaves nothing behind', async (tt) => {
    const a = await startAgent(tt, { files: { 'main.js': "export default { name: 'p', start(ctx) { setTimeout(() => { ctx.log.info('spinning'); for (;;) {} }, 1); } };" } });
    tt.same(await a.first, { state: 'running' });
    await a.logged(/spinning/);
    await Promise.all([a.isolate.terminate(), a.isolate.terminate()]);
    await a.isolate.terminate();
    const exit = await a.isolate.exited;
    tt.not(exit.code, 0, `ended with code ${exit.code}`);
    tt.not(exit.cause, 'out-of-memory');
    if (options.ownProcess && a.isolate.osPid !== undefined) {
      tt.throws(() => process.kill(a.isolate.osPid as number, 0), { code: 'ESRCH' }, 'the OS process is gone (reaped)');
    }
    await tt.rejects(a.isolate.channel.request('agent.usage'), { code: 'ERR_CHANNEL_CLOSED' }, 'the channel is closed');
  });

  await feature('crash', 'a throw in start(ctx) is reported as crashed with its reason', async (tt) => {
    const a = await startAgent(tt, { files: { 'main.js': "export default { name: 'boom', start() { throw new Error('sensor missing'); } };" } });
    const note = await a.first;
    tt.equal(note.state, 'crashed');
    tt.equal(note.error?.code, 'ERR_PLUGIN_START_FAILED');
    tt.match(note.error?.message, /plugin "boom" failed to start: sensor missing/);
    tt.equal((await a.isolate.exited).code, 1);
  });

  await feature('crash', 'an unhandled rejection after start ends the isolate with an uncaught error', async (tt) => {
    const a = await startAgent(tt, { files: { 'main.js': "export default { name: 'p', start() { setTimeout(() => Promise.reject(new Error('late failure')), 5); } };" } });
    tt.same(await a.first, { state: 'running' });
    const exit = await a.isolate.exited;
    tt.equal(exit.cause, 'uncaught-error');
    tt.match(exit.error?.message, /late failure/);
    tt.not(exit.code, 0);
  });

  await feature('crash', 'an uncaught exception in a timer ends the isolate with an uncaught error', async (tt) => {
    const a = await startAgent(tt, { files: { 'main.js': "export default { name: 'p', start() { setTimeout(() => { const e = new Error('bad reading'); e.code = 'ERR_SENSOR_GLITCH'; throw e; }, 5); } };" } });
    tt.same(await a.first, { state: 'running' });
    const exit = await a.isolate.exited;
    tt.equal(exit.cause, 'uncaught-error');
    tt.match(exit.error, { code: 'ERR_SENSOR_GLITCH', message: /bad reading/ });
  });

  await feature('crash', 'an agent with nothing left to do ends by itself with code 0', async (tt) => {
    const a = await startAgent(tt, { files: { 'main.js': "export default { name: 'p', start(ctx) { ctx.log.info('one-shot'); } };" } });
    tt.same(await a.first, { state: 'running' });
    tt.same(await a.isolate.exited, { code: 0, cause: 'exit' });
  });

  await feature('outOfMemory', 'a heap over limits.memoryMb ends the isolate as out-of-memory', async (tt) => {
    const a = await startAgent(tt, {
      manifest: { limits: { memoryMb: 16 } },
      files: { 'main.js': "export default { name: 'p', start() { const hog = []; const grow = () => { for (let i = 0; i < 2e4; i++) hog.push({ i, s: 'x'.repeat(64) + i }); setImmediate(grow); }; grow(); } };" },
    });
    const exit = await a.isolate.exited;
    tt.equal(exit.cause, 'out-of-memory');
    tt.ok(exit.error?.code, `error code ${String(exit.error?.code)}`);
  });

  await feature('output', "console output reaches onOutput line by line, per stream", async (tt) => {
    const a = await startAgent(tt, { files: { 'main.js': "export default { name: 'p', start() { console.log('one'); console.log('two\\nthree'); console.error('to stderr'); } };" } });
    await a.isolate.exited;
    tt.same(a.output.filter((o) => o.stream === 'stdout').map((o) => o.line), ['one', 'two', 'three']);
    tt.same(a.output.filter((o) => o.stream === 'stderr').map((o) => o.line), ['to stderr']);
  });

  await feature('denied', 'a static import of node:fs is refused and reported as a crash', async (tt) => {
    const a = await startAgent(tt, { files: { 'main.js': "import fs from 'node:fs'; export default { name: 'p', start() { fs.readFileSync('/dev/null'); } };" } });
    const note = await a.first;
    tt.equal(note.state, 'crashed');
    tt.ok(refusals.includes(note.error?.code ?? ''), `refused with ${String(note.error?.code)}: ${String(note.error?.message)}`);
    tt.equal((await a.isolate.exited).code, 1);
  });

  await feature('denied', 'every way agent code tries to read /dev/null and /dev/mem is refused, visibly', async (tt) => {
    const a = await startAgent(tt, {
      files: {
        'main.js': `export default { name: 'p', async start(ctx) {
          const tries = {
            'import node:fs': async () => (await import('node:fs')).readFileSync('/dev/null'),
            'import fs/promises': async () => (await import('node:fs/promises')).readFile('/dev/mem'),
            'getBuiltinModule fs': async () => process.getBuiltinModule('node:fs').readFileSync('/dev/null'),
            'import file:///dev/null': async () => import('file:///dev/null'),
            'import /dev/mem': async () => import('/dev/mem'),
          };
          for (const [k, f] of Object.entries(tries)) {
            try { await f(); ctx.log.info('ALLOWED ' + k); } catch (e) { ctx.log.info('refused ' + k, { code: e.code ?? String(e) }); }
          }
          ctx.log.info('done');
        } };`,
      },
    });
    tt.same(await a.first, { state: 'running' });
    await a.logged(/^done$/);
    const outcomes = a.logs.filter((l) => l.message !== 'done');
    tt.equal(outcomes.length, 5);
    for (const l of outcomes) tt.ok(l.message.startsWith('refused ') && refusals.includes(l.fields?.code as string), `${l.message}: ${String(l.fields?.code)}`);
  });
}
