// Supervisor lifecycle against a scripted driver and a manual clock: uniqueness, kill with both signals and the
// grace period, crash + restart policies with backoff and give-up, clean ends, shutdown order.
import t from 'tap';
import type { Test } from 'tap';
import type { Blueprint } from '../design/blueprint.ts';
import { deepFreeze } from '../design/blueprint.ts';
import { manifestSchema } from '../design/manifest-schema.ts';
import type { IAgentStatus } from './agent-status.ts';
import { FakeDriver, ManualClock } from './fake-isolation.test-support.ts';
import { Supervisor } from './supervisor.ts';

function blueprint(id: string, extra: Record<string, unknown> = {}): Blueprint {
  const manifest = manifestSchema.parse({ id, version: '1.0.0', plugins: ['./main.js'], ...extra });
  return deepFreeze({ manifest, manifestPath: `/agents/${id}/agent.json`, rootDir: `/agents/${id}`, files: { 'main.js': '' }, hash: 'h' });
}

function setup(t: Test, scripts: FakeDriver['scripts'] = ['run']) {
  const driver = new FakeDriver();
  driver.scripts = scripts;
  const clock = new ManualClock();
  const changes: IAgentStatus[] = [];
  const sup = new Supervisor({ drivers: [driver], clock, agentHome: (id) => `/home/${id}`, stopGraceMs: 2000, startTimeoutMs: 1000, onChange: (s) => changes.push(s) });
  t.teardown(() => sup.stopAll());
  return { driver, clock, sup, changes };
}

const tick = () => new Promise((r) => setImmediate(r));
async function until(t: Test, what: () => boolean, label: string): Promise<void> {
  for (let i = 0; i < 200 && !what(); i++) await tick();
  t.ok(what(), label);
}

t.test('spawn returns a running status with the DI env given to the driver', async (t) => {
  const { sup, driver } = setup(t);
  const s = await sup.spawn(blueprint('a'), { template: 'a' });
  t.match(s, { pid: '1', agentId: 'a', template: 'a', isolation: 'worker', state: 'running', restarts: 0, tokensUsed: 0 });
  t.same(driver.started[0]?.spec.env, { OPENSTARRY_AGENT_ID: 'a', OPENSTARRY_HOME: '/home/a' });
  await sup.sampleUsage();
  t.match(sup.list()[0], { cpuPercent: 1.5, memoryBytes: 1234 });
});

t.test("the state snapshot of hooks.initialState goes into the driver's spec at launch; without it (or if it throws) none", async (t) => {
  const driver = new FakeDriver();
  const snapshots: Record<string, unknown> = { a: { count: 41 }, b: null };
  const hooks = { admit() {}, attach() {}, detach: async () => undefined, release() {}, initialState: (id: string) => {
    if (!(id in snapshots)) throw new Error('state DB closed');
    return snapshots[id] as null;
  } };
  const sup = new Supervisor({ drivers: [driver], clock: new ManualClock(), agentHome: (id) => `/home/${id}`, startTimeoutMs: 1000, hooks });
  t.teardown(() => sup.stopAll());
  for (const id of ['a', 'b', 'c']) t.equal((await sup.spawn(blueprint(id), { template: id })).state, 'running', `${id} runs`);
  t.same(driver.started.map((s) => s.spec.initialState), [{ count: 41 }, null, undefined]);
  t.notOk('initialState' in (driver.started[2]?.spec ?? {}), 'a hook that throws leaves the host to ask with state.load');
  const plain = setup(t);
  await plain.sup.spawn(blueprint('d'), { template: 'd' });
  t.notOk('initialState' in (plain.driver.started[0]?.spec ?? {}), 'no hook: no initialState');
});

t.test('one live instance per agent id; a killed agent can be spawned again under a new pid', async (t) => {
  const { sup } = setup(t);
  await sup.spawn(blueprint('a'), { template: 'a' });
  await t.rejects(sup.spawn(blueprint('a'), { template: 'a' }), { code: 'ERR_AGENT_EXISTS' });
  const killed = await sup.kill('1', 'SIGTERM');
  t.match(killed, { state: 'exited', exitCode: 0, reason: 'stopped by SIGTERM' });
  const again = await sup.spawn(blueprint('a'), { template: 'a' });
  t.equal(again.pid, '2');
  t.equal(sup.list().length, 2, 'the ended instance stays listed');
});

t.test('SIGTERM waits for stop(ctx); an agent that ignores it is terminated after the grace period', async (t) => {
  const { sup, clock, driver } = setup(t, ['ignore-stop']);
  await sup.spawn(blueprint('stubborn'), { template: 'stubborn' });
  const killing = sup.kill('1', 'SIGTERM');
  await until(t, () => sup.list()[0]?.state === 'stopping', 'stopping while the grace period runs');
  t.notOk(driver.started[0]?.terminated, 'not terminated before the grace period');
  clock.advance(2000);
  const s = await killing;
  t.ok(driver.started[0]?.terminated, 'terminated after the grace period');
  t.match(s, { state: 'exited', reason: 'stopped by SIGTERM; terminated after the grace period' });
});

t.test('SIGKILL terminates at once and the restart policy does not apply', async (t) => {
  const { sup, driver, clock } = setup(t);
  await sup.spawn(blueprint('k', { restart: { policy: 'always' } }), { template: 'k' });
  const s = await sup.kill('1', 'SIGKILL');
  t.ok(driver.started[0]?.terminated);
  t.match(s, { state: 'exited', reason: 'stopped by SIGKILL' });
  clock.advance(60_000);
  t.equal(driver.started.length, 1, 'no restart after an explicit kill');
});

t.test('a crash with policy never stays crashed with the reason', async (t) => {
  const { sup, driver } = setup(t);
  await sup.spawn(blueprint('c'), { template: 'c' });
  driver.started[0]?.end({ code: 1, cause: 'uncaught-error', error: { code: 'ERR_UNCAUGHT', message: 'boom' } });
  await until(t, () => sup.list()[0]?.state === 'crashed', 'crashed');
  t.match(sup.list()[0], { exitCode: 1, reason: 'uncaught error: boom' });
});

t.test('on-failure restarts with exponential backoff, then gives up after maxRestarts', async (t) => {
  const { sup, driver, clock } = setup(t, ['crash-on-start']);
  const first = await sup.spawn(blueprint('r', { restart: { policy: 'on-failure', maxRestarts: 2, backoffMs: 100 } }), { template: 'r' });
  t.equal(first.state, 'restarting', 'spawn answers once the first start failed: waiting to restart');
  t.match(sup.list()[0]?.reason, /ERR_PLUGIN_START_FAILED: plugin "x" failed to start: nope/);
  clock.advance(99);
  t.equal(driver.started.length, 1, 'not before the backoff');
  clock.advance(1);
  await until(t, () => driver.started.length === 2 && sup.list()[0]?.state === 'restarting', 'second attempt failed');
  clock.advance(199);
  t.equal(driver.started.length, 2, 'backoff doubled');
  clock.advance(1);
  await until(t, () => sup.list()[0]?.state === 'crashed', 'gave up');
  t.equal(driver.started.length, 3);
  t.match(sup.list()[0], { restarts: 2, reason: /gave up after 2 restarts/ });
});

t.test('a restarted agent keeps its pid and runs again', async (t) => {
  const { sup, driver, clock } = setup(t, ['run', 'run']);
  await sup.spawn(blueprint('p', { restart: { policy: 'on-failure', backoffMs: 10 } }), { template: 'p' });
  driver.started[0]?.end({ code: 1, cause: 'exit' });
  await until(t, () => sup.list()[0]?.state === 'restarting', 'restarting');
  clock.advance(10);
  await until(t, () => sup.list()[0]?.state === 'running', 'running again');
  t.match(sup.list()[0], { pid: '1', restarts: 1 });
  t.equal(driver.started[1]?.spec.blueprint, driver.started[0]?.spec.blueprint, 'the same frozen blueprint');
});

t.test('policy always restarts an agent that ended cleanly; on-failure does not', async (t) => {
  const a = setup(t, ['exit-clean', 'run']);
  await a.sup.spawn(blueprint('al', { restart: { policy: 'always', backoffMs: 5 } }), { template: 'al' });
  await until(t, () => a.sup.list()[0]?.state === 'restarting', 'always: restarting after a clean end');
  a.clock.advance(5);
  await until(t, () => a.sup.list()[0]?.state === 'running', 'always: running again');
  const b = setup(t, ['exit-clean']);
  await b.sup.spawn(blueprint('of', { restart: { policy: 'on-failure' } }), { template: 'of' });
  await until(t, () => b.sup.list()[0]?.state === 'exited', 'on-failure: a clean end is final');
  t.match(b.sup.list()[0], { exitCode: 0, reason: 'ended by itself (nothing left to do)' });
});

t.test('killing an agent that waits to restart cancels the restart', async (t) => {
  const { sup, driver, clock } = setup(t, ['crash-on-start']);
  await sup.spawn(blueprint('w', { restart: { policy: 'on-failure', backoffMs: 1000 } }), { template: 'w' });
  await until(t, () => sup.list()[0]?.state === 'restarting', 'restarting');
  const s = await sup.kill('1', 'SIGTERM');
  t.equal(s.state, 'exited');
  t.match(s.reason, /while waiting to restart/);
  clock.advance(10_000);
  t.equal(driver.started.length, 1);
});

t.test('stopAll stops agents in reverse start order and refuses new spawns', async (t) => {
  const { sup, changes } = setup(t);
  for (const id of ['one', 'two', 'three']) await sup.spawn(blueprint(id), { template: id });
  await sup.stopAll();
  t.same(changes.filter((c) => c.state === 'exited').map((c) => c.agentId), ['three', 'two', 'one']);
  await t.rejects(sup.spawn(blueprint('four'), { template: 'four' }), { code: 'ERR_NOT_READY' });
});

t.test('an isolation the daemon lacks is refused; unknown pid is ERR_AGENT_NOT_FOUND', async (t) => {
  const { sup } = setup(t);
  await t.rejects(sup.spawn(blueprint('d', { isolation: 'docker' }), { template: 'd' }), { code: 'ERR_ISOLATION_UNAVAILABLE', message: /"docker" is not available/ });
  await t.rejects(sup.kill('99'), { code: 'ERR_AGENT_NOT_FOUND' });
});

t.test('the periodic usage tick reports when it last completed a round (the watchdog reads it)', async (t) => {
  const driver = new FakeDriver();
  const clock = new ManualClock();
  const sup = new Supervisor({ drivers: [driver], clock, agentHome: (id) => `/home/${id}`, usageIntervalMs: 5 });
  t.teardown(() => sup.stopAll());
  t.equal(sup.tickIntervalMs, 5);
  t.equal(sup.lastTickAt, clock.now(), 'fresh at construction');
  await sup.spawn(blueprint('a'), { template: 'a' });
  clock.stall(60_000); // the injected clock moves; the real interval timer goes on ticking
  // The usage timer is a real setInterval: on a loaded machine 200 turns of setImmediate can pass before its first
  // 5 ms tick, so wait on real timers (up to 10 s) for the tick rather than for a number of turns.
  for (let i = 0; i < 1000 && sup.lastTickAt !== clock.now(); i++) await new Promise((r) => setTimeout(r, 10));
  t.equal(sup.lastTickAt, clock.now(), 'a tick completed after the clock moved');
});

t.test('an isolate that does not answer usage() is skipped after one interval; the round completes', async (t) => {
  const driver = new FakeDriver();
  const clock = new ManualClock();
  const sup = new Supervisor({ drivers: [driver], clock, agentHome: (id) => `/home/${id}`, usageIntervalMs: 60_000 });
  t.teardown(() => sup.stopAll());
  await sup.spawn(blueprint('slow'), { template: 'slow' });
  await sup.sampleUsage();
  const isolate = driver.started[0]!;
  isolate.nextUsage = { cpuPercent: 50, memoryBytes: 999 };
  isolate.usage = () => new Promise(() => undefined); // an engine that hangs
  let done = false;
  const round = sup.sampleUsage().then(() => (done = true));
  await tick();
  t.notOk(done, 'still waiting within the interval');
  clock.advance(60_000);
  await round;
  t.ok(done, 'the round completed');
  t.match(sup.list()[0], { cpuPercent: 1.5, memoryBytes: 1234 }, 'the last known usage is kept');
  t.equal(clock.pending, 0, 'no timer left behind');
});

t.test('the usage tick runs on its own injected clock: one round per interval, stopped by stopAll', async (t) => {
  const driver = new FakeDriver();
  const clock = new ManualClock();
  const tickClock = new ManualClock();
  const sup = new Supervisor({ drivers: [driver], clock, tickClock, agentHome: (id) => `/home/${id}`, usageIntervalMs: 5000 });
  t.teardown(() => sup.stopAll());
  await sup.spawn(blueprint('a'), { template: 'a' });
  await until(t, () => sup.list()[0]?.memoryBytes === 1234, 'the first sample, taken on reaching running');
  t.equal(tickClock.pending, 1, 'the tick is armed');
  driver.started[0]!.nextUsage = { cpuPercent: 7, memoryBytes: 4321 };
  clock.stall(1000);
  tickClock.advance(4999);
  await tick();
  t.match(sup.list()[0], { memoryBytes: 1234 }, 'no round before the interval');
  tickClock.advance(1);
  await until(t, () => sup.lastTickAt === clock.now(), 'a round completed (its time read from `clock`)');
  t.match(sup.list()[0], { cpuPercent: 7, memoryBytes: 4321 }, 'the round sampled the isolate');
  await sup.stopAll();
  t.equal(tickClock.pending, 0, 'stopAll stops the tick');
  t.equal(clock.pending, 0, 'and leaves nothing on the other clock');
});

t.test('prewarm goes to the named driver with the memory class, and to nothing once the supervisor is closed', async (t) => {
  const { driver, sup } = setup(t);
  const asked: number[] = [];
  Object.assign(driver, { prewarm: (memoryMb: number) => asked.push(memoryMb) });
  sup.prewarm('worker', 64);
  sup.prewarm('docker', 64);
  t.same(asked, [64], 'only the driver of that isolation (no docker driver here: nothing)');
  await sup.stopAll();
  sup.prewarm('worker', 32);
  t.same(asked, [64], 'nothing after stopAll');
});
