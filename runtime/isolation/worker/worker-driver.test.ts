// The worker isolation driver against real worker threads: plugin loading from the blueprint snapshot, the
// module policy (node:fs & co refused with a clear error), hardening of `process`, crash causes, output capture.
import t from 'tap';
import type { Test } from 'tap';
import { loadBlueprint } from '../../design/blueprint.ts';
import type { IsolateOutput } from '../isolation-driver.ts';
import { ManualClock } from '../../manual-clock.ts';
import { busyUsageGivesUp } from '../busy-usage.test-support.ts';
import { PREWARM_TTL_MS, USAGE_TIMEOUT_MS, WorkerDriver, youngGenerationMb } from './worker-driver.ts';
import type { LifecycleNote, LogNote } from '../../core/channel-messages.ts';
import type { JsonValue } from '../../core/json-value.ts';

const driver = new WorkerDriver();

function manifest(extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ id: 'probe', version: '1.0.0', plugins: ['./main.js'], ...extra });
}

async function startAgent(t: Test, files: Record<string, string | Record<string, string>>, extra: Record<string, unknown> = {}) {
  const dir = t.testdir({ 'agent.json': manifest(extra), ...files });
  const blueprint = await loadBlueprint(`${dir}/agent.json`);
  const isolate = await driver.start({ pid: '7', blueprint, env: { OPENSTARRY_AGENT_ID: 'probe', OPENSTARRY_HOME: '/tmp/probe-home' } });
  const lifecycle: LifecycleNote[] = [];
  const logs: LogNote[] = [];
  const output: IsolateOutput[] = [];
  const running = new Promise<LifecycleNote>((resolve) => {
    isolate.channel.onNote('lifecycle', (p) => {
      lifecycle.push(p as LifecycleNote);
      resolve(p as LifecycleNote);
    });
  });
  isolate.channel.onNote('log', (p) => logs.push(p as LogNote));
  isolate.onOutput((o) => output.push(o));
  t.teardown(() => isolate.terminate());
  return { isolate, lifecycle, logs, output, first: running };
}

t.test('loads plugins and their relative imports from the snapshot; env is injected; stop runs stop(ctx)', async (t) => {
  const { isolate, first, logs } = await startAgent(t, {
    'main.js': `import { double } from './lib/math.js';
      export default { name: 'p', start(ctx) { ctx.log.info('v=' + double(ctx.config.n), { id: process.env.OPENSTARRY_AGENT_ID, home: process.env.OPENSTARRY_HOME, daemonEnv: process.env.PATH ?? null }); this.t = setInterval(() => {}, 1000); ctx.bus.publish('k', { n: ctx.config.n }, { retain: true }); },
        stop(ctx) { clearInterval(this.t); ctx.log.info('bye'); } };`,
    lib: { 'math.js': 'export const double = (n) => n * 2;' },
  }, { config: { n: 21 } });
  t.same(await first, { state: 'running' });
  t.same(await isolate.channel.request('agent.snapshot'), { k: { n: 21 } });
  const usage = await isolate.usage();
  t.ok(usage.memoryBytes > 0, 'memory reported');
  await isolate.channel.request('agent.stop');
  const exit = await isolate.exited;
  t.equal(exit.code, 0);
  t.same(logs.map((l) => l.message), ['v=42', 'bye']);
  t.same(logs[0]?.fields, { id: 'probe', home: '/tmp/probe-home', daemonEnv: null }, 'only the DI variables are in the isolate env');
});

t.test("the spec's initialState reaches ctx.state without a state.load request (issue 12: no round trip before running)", async (t) => {
  const dir = t.testdir({ 'agent.json': manifest(), 'main.js': "export default { name: 's', start(ctx) { ctx.log.info('hydrated', { s: ctx.state.get() }); } };" });
  const blueprint = await loadBlueprint(`${dir}/agent.json`);
  const withSpare = new WorkerDriver({ bootSpares: 1 });
  t.teardown(() => withSpare.close());
  // A cold start (workerData) and a warm spare (its assignment message) with a snapshot; a cold start with none.
  const cases: [WorkerDriver, JsonValue | null][] = [[withSpare, { count: 41, list: [1, 'two'] }], [driver, { count: 7 }], [driver, null]];
  for (const [d, initialState] of cases) {
    const isolate = await d.start({ pid: '8', blueprint, env: { OPENSTARRY_AGENT_ID: 'probe', OPENSTARRY_HOME: '/tmp/probe-home' }, initialState });
    t.teardown(() => isolate.terminate());
    if (d === withSpare) t.equal(withSpare.spares, 0, 'the spare was taken');
    let asked = 0;
    isolate.channel.handle('state.load', () => {
      asked += 1;
      return { count: -1 };
    });
    const logged = new Promise<LogNote>((resolve) => isolate.channel.onNote('log', (p) => resolve(p as LogNote)));
    t.same((await logged).fields, { s: initialState ?? undefined }, `ctx.state.get() is the bootstrap's ${JSON.stringify(initialState)}`);
    await isolate.exited;
    t.equal(asked, 0, 'state.load was not asked');
  }
});

for (const builtin of ['node:fs', 'fs', 'node:child_process', 'node:net', 'node:worker_threads', 'node:vm', 'node:module']) {
  t.test(`a static import of ${builtin} is refused with ERR_ISOLATE_DENIED`, async (t) => {
    const { first, isolate } = await startAgent(t, { 'main.js': `import x from '${builtin}'; export default { name: 'p', start() {} };` });
    const note = await first;
    t.equal(note.state, 'crashed');
    t.equal(note.error?.code, 'ERR_ISOLATE_DENIED');
    t.match(note.error?.message, /refused/);
    t.equal((await isolate.exited).code, 1);
  });
}

t.test('dynamic import of node:fs, absolute paths, packages and native addons are refused', async (t) => {
  const { first, logs } = await startAgent(t, {
    'main.js': `export default { name: 'p', async start(ctx) {
      for (const s of ['node:fs', '/etc/passwd', 'lodash', './addon.node', '../outside.js']) {
        try { await import(s); ctx.log.info('LOADED ' + s); } catch (e) { ctx.log.info(s + ' -> ' + e.code); }
      }
      const ok = await import('node:events'); ctx.log.info('events ' + typeof ok.EventEmitter);
    } };`,
  });
  t.same(await first, { state: 'running' });
  await new Promise((r) => setTimeout(r, 20));
  t.same(logs.map((l) => l.message), [
    'node:fs -> ERR_ISOLATE_DENIED',
    '/etc/passwd -> ERR_ISOLATE_DENIED',
    'lodash -> ERR_ISOLATE_DENIED',
    './addon.node -> ERR_ISOLATE_DENIED',
    '../outside.js -> ERR_ISOLATE_DENIED',
    'events function',
  ]);
});

t.test('process escape hatches are refused: kill, binding, dlopen, getBuiltinModule(fs); fetch is gone', async (t) => {
  const { first, logs } = await startAgent(t, {
    'main.js': `export default { name: 'p', start(ctx) {
      const tries = { kill: () => process.kill(process.pid, 'SIGKILL'), binding: () => process.binding('fs'), dlopen: () => process.dlopen({}, '/x.node'),
        builtin: () => process.getBuiltinModule ? process.getBuiltinModule('node:fs') : (() => { const e = new Error('absent'); e.code = 'ERR_ISOLATE_DENIED'; throw e; })() };
      for (const [k, f] of Object.entries(tries)) { try { f(); ctx.log.info(k + ' ALLOWED'); } catch (e) { ctx.log.info(k + ' ' + e.code); } }
      ctx.log.info('fetch ' + typeof globalThis.fetch);
    } };`,
  });
  t.same(await first, { state: 'running' });
  await new Promise((r) => setTimeout(r, 20));
  t.same(logs.map((l) => l.message), ['kill ERR_ISOLATE_DENIED', 'binding ERR_ISOLATE_DENIED', 'dlopen ERR_ISOLATE_DENIED', 'builtin ERR_ISOLATE_DENIED', 'fetch undefined']);
});

t.test('a throw in start() is reported as crashed with the plugin name', async (t) => {
  const { first, isolate } = await startAgent(t, { 'main.js': `export default { name: 'boom', start() { throw new Error('sensor missing'); } };` });
  const note = await first;
  t.equal(note.error?.code, 'ERR_PLUGIN_START_FAILED');
  t.match(note.error?.message, /plugin "boom" failed to start: sensor missing/);
  t.equal((await isolate.exited).code, 1);
});

t.test('a module whose default export is not a plugin is refused', async (t) => {
  const { first } = await startAgent(t, { 'main.js': `export default 42;` });
  const note = await first;
  t.equal(note.error?.code, 'ERR_PLUGIN_INVALID');
  t.match(note.error?.message, /main\.js: default export is not an object/);
});

t.test('an unhandled rejection after start ends the isolate with an uncaught error', async (t) => {
  const { first, isolate } = await startAgent(t, { 'main.js': `export default { name: 'p', start() { setTimeout(() => Promise.reject(new Error('late failure')), 5); } };` });
  t.same(await first, { state: 'running' });
  const exit = await isolate.exited;
  t.equal(exit.cause, 'uncaught-error');
  t.match(exit.error?.message, /late failure/);
  t.not(exit.code, 0);
});

t.test('memory over limits.memoryMb ends the isolate as out-of-memory', async (t) => {
  const { isolate } = await startAgent(t, { 'main.js': `export default { name: 'p', start() { const hog = []; const grow = () => { for (let i = 0; i < 2e4; i++) hog.push({ i, s: 'x'.repeat(64) + i }); setImmediate(grow); }; grow(); } };` }, { limits: { memoryMb: 16 } });
  const exit = await isolate.exited;
  t.equal(exit.cause, 'out-of-memory');
  t.equal(exit.error?.code, 'ERR_WORKER_OUT_OF_MEMORY');
});

t.test('an agent with nothing left to do ends by itself with code 0; console output is captured', async (t) => {
  const { first, isolate, output } = await startAgent(t, { 'main.js': `export default { name: 'p', start() { console.log('one-shot done'); console.error('to stderr'); } };` });
  t.same(await first, { state: 'running' });
  const exit = await isolate.exited;
  t.same(exit, { code: 0, cause: 'exit' });
  t.same(output.sort((a, b) => a.stream.localeCompare(b.stream)), [{ stream: 'stderr', line: 'to stderr' }, { stream: 'stdout', line: 'one-shot done' }]);
});

t.test('terminate() ends a busy agent and is idempotent', async (t) => {
  const { first, isolate } = await startAgent(t, { 'main.js': `export default { name: 'p', start() { setTimeout(() => { for (;;) {} }, 1); } };` });
  t.same(await first, { state: 'running' });
  await isolate.terminate();
  await isolate.terminate();
  t.equal((await isolate.exited).code, 1);
});


t.test('warm spares: a spawn with the spare memory class takes a booted worker and a new spare is made', async (t) => {
  const warm = new WorkerDriver({ warmSpares: 1, spareMemoryMb: 64 });
  t.teardown(() => warm.close());
  t.equal(warm.spares, 1, 'one spare booting at construction');
  const dir = t.testdir({ 'agent.json': manifest(), 'main.js': "export default { name: 'p', start(ctx) { ctx.log.info(process.env.OPENSTARRY_AGENT_ID + ' ' + process.env.OPENSTARRY_HOME); setInterval(() => {}, 1000); } };" });
  const blueprint = await loadBlueprint(`${dir}/agent.json`);
  const isolate = await warm.start({ pid: '9', blueprint, env: { OPENSTARRY_AGENT_ID: 'probe', OPENSTARRY_HOME: '/tmp/h' } });
  t.teardown(() => isolate.terminate());
  t.equal(warm.spares, 0, 'the spare was taken');
  const log = new Promise<LogNote>((resolve) => isolate.channel.onNote('log', (p) => resolve(p as LogNote)));
  t.equal((await log).message, 'probe /tmp/h', 'the DI environment arrives with the assignment');
  await new Promise((r) => setImmediate(r));
  t.equal(warm.spares, 1, 'refilled');

  const other = await loadBlueprint(`${t.testdir({ 'agent.json': manifest({ limits: { memoryMb: 32 } }), 'main.js': "export default { name: 'p', start() { setInterval(() => {}, 1000); } };" })}/agent.json`);
  const cold = await warm.start({ pid: '10', blueprint: other, env: { OPENSTARRY_AGENT_ID: 'probe', OPENSTARRY_HOME: '/tmp/h' } });
  t.teardown(() => cold.terminate());
  t.equal(warm.spares, 1, 'another memory class starts cold and leaves the spare');
  await warm.close();
  t.equal(warm.spares, 0, 'close() terminates the spares');
  await warm.close();
});

t.test('bootWindow: open from each thread\'s creation to its first message or its end (the daemon\'s V8 options are off in it)', async (t) => {
  let open = 0;
  const opened: string[] = [];
  const windowed = new WorkerDriver({
    bootSpares: 1,
    bootWindow: () => {
      open += 1;
      opened.push(`window ${opened.length + 1}`);
      return () => (open -= 1);
    },
  });
  t.teardown(() => windowed.close());
  t.equal(open, 1, 'the boot spare opened one at construction');
  await new Promise((r) => setTimeout(r, 200));
  t.equal(open, 1, 'a spare waiting for its assignment keeps it open (it has sent nothing)');
  const start = async (main: string, memoryMb?: number) => {
    const dir = t.testdir({ 'agent.json': manifest(memoryMb ? { limits: { memoryMb } } : {}), 'main.js': main });
    const isolate = await windowed.start({ pid: '11', blueprint: await loadBlueprint(`${dir}/agent.json`), env: { OPENSTARRY_AGENT_ID: 'probe', OPENSTARRY_HOME: '/tmp/h' }, initialState: null });
    t.teardown(() => isolate.terminate());
    return isolate;
  };
  const lifecycle = (isolate: Awaited<ReturnType<typeof start>>) => new Promise<LifecycleNote>((resolve) => isolate.channel.onNote('lifecycle', (p) => resolve(p as LifecycleNote)));
  const assigned = await start("export default { name: 'p', start() { this.t = setInterval(() => {}, 1000); }, stop() { clearInterval(this.t); } };");
  t.same(await lifecycle(assigned), { state: 'running' });
  t.equal(open, 0, 'closed by the assigned spare\'s first message');
  const cold = await start("export default { name: 'p', start() { this.t = setInterval(() => {}, 1000); }, stop() { clearInterval(this.t); } };", 32);
  t.equal(open, 1, 'a cold start opens one');
  t.same(await lifecycle(cold), { state: 'running' });
  t.equal(open, 0, 'closed by its first message');
  const dies = await start('throw new Error("at load");', 32);
  await dies.exited;
  t.equal(open, 0, 'an agent that crashes at load closes its window');
  t.same(opened, ['window 1', 'window 2', 'window 3'], 'one window per thread created');
});

t.test('prewarm: a thread booted while a spawn reads its blueprint is the one the start takes; other classes, a second call and an untaken one', async (t) => {
  const clock = new ManualClock();
  let windows = 0;
  const pre = new WorkerDriver({ clock, bootWindow: () => ((windows += 1), () => undefined) });
  t.teardown(() => pre.close());
  pre.prewarm(32);
  t.equal(pre.spares, 0, 'not for another memory class than the spares\' (64 MB)');
  pre.prewarm(64);
  pre.prewarm(64);
  t.equal(pre.spares, 1, 'one thread, however often it is asked');
  t.equal(windows, 1);
  const dir = t.testdir({ 'agent.json': manifest(), 'main.js': "export default { name: 'p', start(ctx) { ctx.log.info('env', { id: process.env.OPENSTARRY_AGENT_ID, home: process.env.OPENSTARRY_HOME }); this.t = setInterval(() => {}, 1000); }, stop() { clearInterval(this.t); } };" });
  const isolate = await pre.start({ pid: '12', blueprint: await loadBlueprint(`${dir}/agent.json`), env: { OPENSTARRY_AGENT_ID: 'probe', OPENSTARRY_HOME: '/tmp/h' }, initialState: null });
  t.teardown(() => isolate.terminate());
  t.equal(pre.spares, 0, 'the start took it');
  t.equal(windows, 1, 'no second thread was created for the start');
  const log = await new Promise<LogNote>((resolve) => isolate.channel.onNote('log', (p) => resolve(p as LogNote)));
  t.same(log.fields, { id: 'probe', home: '/tmp/h' }, 'the agent runs in it with its own environment');
  t.equal(clock.pending, 0, 'its expiry timer was cleared');

  pre.prewarm(64);
  t.equal(pre.spares, 1);
  clock.advance(PREWARM_TTL_MS - 1);
  t.equal(pre.spares, 1, 'kept until PREWARM_TTL_MS');
  clock.advance(1);
  t.equal(pre.spares, 0, 'then ended: its spawn went elsewhere or failed');
  pre.prewarm(64);
  await pre.close();
  t.equal(pre.spares, 0, 'close() ends a waiting one');
  pre.prewarm(64);
  t.equal(pre.spares, 0, 'and none is made after it');
});

t.test('setWarmSpares: more spares are booted at once, those above a lower count are terminated', async (t) => {
  const d = new WorkerDriver({ warmSpares: 0, spareMemoryMb: 64 });
  t.teardown(() => d.close());
  t.equal(d.spares, 0);
  d.setWarmSpares(2);
  t.equal(d.spares, 2, 'two booting');
  d.setWarmSpares(1);
  t.equal(d.spares, 1, 'one terminated');
  d.setWarmSpares(0);
  t.equal(d.spares, 0);
  await d.close();
  d.setWarmSpares(1);
  t.equal(d.spares, 0, 'none after close()');
});

t.test('a subscription made in start() keeps an otherwise idle agent alive; releasing it lets the agent end', async (t) => {
  const dir = t.testdir({ 'agent.json': manifest(), 'main.js': "export default { name: 'w', start(ctx) { const stop = ctx.hal.watch('pir', (e) => { ctx.log.info('edge ' + e.edge); stop(); }); } };" });
  const blueprint = await loadBlueprint(`${dir}/agent.json`);
  const isolate = await driver.start({ pid: '11', blueprint, env: { OPENSTARRY_AGENT_ID: 'probe', OPENSTARRY_HOME: '/tmp/h' } });
  t.teardown(() => isolate.terminate());
  isolate.channel.handle('hal.watch', () => ({ watchId: 7 }));
  isolate.channel.handle('hal.unwatch', () => undefined);
  const logs: string[] = [];
  isolate.channel.onNote('log', (p) => logs.push((p as LogNote).message));
  let ended = false;
  void isolate.exited.then(() => (ended = true));
  await new Promise<void>((resolve) => isolate.channel.onNote('lifecycle', () => resolve()));
  await new Promise((r) => setTimeout(r, 300));
  t.notOk(ended, 'still alive while watching');
  isolate.channel.notify('hal.edge', { watchId: 7, edge: { edge: 'rising', value: 1, at: 1 } });
  const exit = await isolate.exited;
  t.same(logs, ['edge rising']);
  t.equal(exit.code, 0, 'ends by itself once the watch is released');
});

t.test('a worker agent\'s young generation is 1/32 of its memory limit, between 1 and 8 MB', async (t) => {
  t.same([8, 32, 64, 128, 256, 512, 8192].map(youngGenerationMb), [1, 1, 2, 4, 8, 8, 8]);
});

t.test('usage() of a busy isolate gives up after USAGE_TIMEOUT_MS on the driver\'s clock, with the last known memory', async (t) => {
  const clock = new ManualClock();
  const timed = new WorkerDriver({ clock });
  t.teardown(() => timed.close());
  await busyUsageGivesUp(t, timed, clock, USAGE_TIMEOUT_MS);
});
