// Resource governance in the supervisor (issue 6), against the scripted driver and a manual clock: the token budget
// (reported over the channel, validated again, kept across policy restarts, reset by a new spawn), the CPU limit
// over a sustained window (a spike is fine; limit 100 and self-throttling drivers are not watched), the memory limit,
// and crash-loop quarantine for each of those reasons.
import t from 'tap';
import type { Test } from 'tap';
import type { Blueprint } from '../design/blueprint.ts';
import { deepFreeze } from '../design/blueprint.ts';
import { manifestSchema } from '../design/manifest-schema.ts';
import type { IAgentStatus } from './agent-status.ts';
import type { LogLine } from '../logging/log-line.ts';
import type { Logger } from '../logging/logger.ts';
import { FakeDriver, ManualClock } from './fake-isolation.test-support.ts';
import { Supervisor } from './supervisor.ts';
import type { TokenReport } from './token-meter.ts';

function blueprint(id: string, extra: Record<string, unknown> = {}): Blueprint {
  const manifest = manifestSchema.parse({ id, version: '1.0.0', plugins: ['./main.js'], ...extra });
  return deepFreeze({ manifest, manifestPath: `/agents/${id}/agent.json`, rootDir: `/agents/${id}`, files: { 'main.js': '' }, hash: 'h' });
}

function setup(t: Test) {
  const driver = new FakeDriver();
  const clock = new ManualClock();
  const daemonLog: string[] = [];
  const record = (level: string) => (message: string) => void daemonLog.push(`${level} ${message}`);
  const log: Logger = { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error'), child: () => log, setLevel() {} };
  const agentLog: LogLine[] = [];
  const reports: TokenReport[] = [];
  const sup = new Supervisor({
    drivers: [driver],
    clock,
    log,
    agentHome: (id) => `/home/${id}`,
    stopGraceMs: 2000,
    startTimeoutMs: 1000,
    onLogLine: (l) => agentLog.push(l),
    onTokens: (_pid, _id, r) => reports.push(r),
  });
  t.teardown(() => sup.stopAll());
  return { driver, clock, sup, daemonLog, agentLog, reports };
}

const tick = () => new Promise((r) => setImmediate(r));
async function until(t: Test, what: () => boolean, label: string): Promise<void> {
  for (let i = 0; i < 200 && !what(); i++) await tick();
  t.ok(what(), label);
}
const only = (sup: Supervisor): IAgentStatus => sup.list().at(-1) as IAgentStatus;

t.test('tokens are counted from metering notes; past limits.tokens the agent is stopped as crashed', async (t) => {
  const { sup, driver, reports } = setup(t);
  const s = await sup.spawn(blueprint('llm', { limits: { tokens: 1000 } }), { template: 'llm' });
  t.match(s, { tokensUsed: 0, tokensBudget: 1000 });
  const agent = driver.started[0]!.agent;
  agent.notify('metering.tokens', { n: 600, info: { model: 'small' } });
  agent.notify('metering.tokens', { n: 400 });
  await until(t, () => only(sup).tokensUsed === 1000, 'counted');
  t.equal(only(sup).state, 'running', 'exactly the budget is still within it');
  t.same(reports, [{ n: 600, info: { model: 'small' } }, { n: 400 }], 'reports passed on for telemetry');
  agent.notify('metering.tokens', { n: 1 });
  await until(t, () => only(sup).state === 'crashed', 'stopped');
  t.ok(driver.started[0]?.terminated, 'the isolate was terminated');
  t.match(only(sup), { reason: 'token-budget: used 1001 of 1000 tokens', tokensUsed: 1001 });
  t.notOk(only(sup).quarantined, 'policy never: a plain crash, not a quarantine');
});

t.test('an agent without limits.tokens is counted but never stopped for tokens', async (t) => {
  const { sup, driver } = setup(t);
  await sup.spawn(blueprint('free'), { template: 'free' });
  driver.started[0]!.agent.notify('metering.tokens', { n: Number.MAX_SAFE_INTEGER });
  await until(t, () => only(sup).tokensUsed === Number.MAX_SAFE_INTEGER, 'counted');
  t.equal(only(sup).state, 'running');
  t.notOk('tokensBudget' in only(sup));
});

t.test('bad metering notes from the (untrusted) isolate are ignored and logged once', async (t) => {
  const { sup, driver, daemonLog } = setup(t);
  await sup.spawn(blueprint('liar', { limits: { tokens: 10 } }), { template: 'liar' });
  const agent = driver.started[0]!.agent;
  for (const bad of [{ n: -500 }, { n: 1.5 }, { n: '5' }, { n: Number.MAX_SAFE_INTEGER + 2 }, null, [3], { n: 1, info: 'x' }, { n: 1, info: { big: 'x'.repeat(2000) } }]) {
    // @ts-expect-error a misbehaving isolate sends what the table forbids; the daemon's checks must catch it
    agent.notify('metering.tokens', bad);
  }
  agent.notify('metering.tokens', { n: 4 });
  await until(t, () => only(sup).tokensUsed === 4, 'only the valid note counted');
  t.equal(only(sup).state, 'running');
  t.equal(daemonLog.filter((l) => l.includes('metering.tokens note ignored')).length, 1, 'logged once');
  t.match(daemonLog.join('\n'), /note ignored: n is not a non-negative integer \(-500\)/);
});

t.test('token budget: kept across policy restarts, quarantined when the series is spent, reset by a new spawn', async (t) => {
  const { sup, driver, clock, daemonLog, agentLog } = setup(t);
  const bp = blueprint('spender', { limits: { tokens: 100 }, restart: { policy: 'on-failure', maxRestarts: 2, backoffMs: 100 } });
  await sup.spawn(bp, { template: 'spender' });
  driver.started[0]!.agent.notify('metering.tokens', { n: 150 });
  await until(t, () => only(sup).state === 'restarting', 'restarting after the first overspend');
  clock.advance(100);
  await until(t, () => only(sup).state === 'running' && driver.started.length === 2, 'running again');
  t.match(only(sup), { restarts: 1, tokensUsed: 150 }, 'the count survives the restart');
  driver.started[1]!.agent.notify('metering.tokens', { n: 1 });
  await until(t, () => only(sup).state === 'restarting', 'the first token after the restart stops it again');
  t.match(only(sup).reason, 'token-budget: used 151 of 100 tokens');
  clock.advance(200);
  await until(t, () => only(sup).state === 'running' && driver.started.length === 3, 'second restart');
  driver.started[2]!.agent.notify('metering.tokens', { n: 2 });
  await until(t, () => only(sup).state === 'crashed', 'given up');
  t.match(only(sup), { state: 'crashed', quarantined: true, restarts: 2, reason: 'quarantined: token-budget: used 153 of 100 tokens; gave up after 2 restarts' });
  clock.advance(3_600_000);
  await tick();
  t.equal(driver.started.length, 3, 'a quarantined agent is never restarted by the supervisor');
  const series = daemonLog.find((l) => l.includes('quarantined (not restarted until spawned again)'));
  t.match(series, /^error agent spender \(pid 1\) quarantined .*restart series: 3 failure\(s\) in 0\.3s: #1 \+0\.0s token-budget: used 150 of 100 tokens \| #2 \+0\.1s token-budget: used 151 of 100 tokens \| #3 \+0\.3s token-budget: used 153/);
  t.ok(agentLog.some((l) => l.level === 'error' && l.message.startsWith('quarantined')), 'also in `openstarry logs`');
  const again = await sup.spawn(bp, { template: 'spender' });
  t.match(again, { pid: '2', state: 'running', tokensUsed: 0, restarts: 0 }, 'a new spawn starts a new budget');
  t.notOk(again.quarantined);
});

t.test('CPU over the limit for the whole window stops the agent with the measured share', async (t) => {
  const { sup, driver, clock } = setup(t);
  driver.usage = { cpuPercent: 90, memoryBytes: 1000 };
  await sup.spawn(blueprint('hog', { limits: { cpuPercent: 50 } }), { template: 'hog' });
  for (let i = 0; i < 4; i++) {
    clock.advance(2000);
    await sup.sampleUsage();
  }
  t.equal(only(sup).state, 'running', '8 s over the limit: not yet');
  clock.advance(2000);
  driver.started[0]!.nextUsage = { cpuPercent: 95, memoryBytes: 1000 };
  await sup.sampleUsage();
  await until(t, () => only(sup).state === 'crashed', 'stopped after 10 s');
  t.equal(only(sup).reason, 'cpu-limit: 91.0% for 10.0s, limit 50%');
});

t.test('a CPU spike shorter than the window is allowed; the streak starts again after it', async (t) => {
  const { sup, driver, clock } = setup(t);
  await sup.spawn(blueprint('bursty', { limits: { cpuPercent: 50 } }), { template: 'bursty' });
  const iso = driver.started[0]!;
  const pattern = [99, 99, 99, 99, 10, 99, 99, 99, 99, 10, 99, 99];
  for (const cpu of pattern) {
    iso.nextUsage = { cpuPercent: cpu, memoryBytes: 1000 };
    clock.advance(2000);
    await sup.sampleUsage();
  }
  t.equal(only(sup).state, 'running', 'never 10 s in a row');
  t.equal(only(sup).cpuPercent, 99);
});

t.test('limit 100 (the default) and drivers that throttle CPU themselves are not watched', async (t) => {
  const { sup, driver, clock } = setup(t);
  driver.usage = { cpuPercent: 180, memoryBytes: 1000 };
  await sup.spawn(blueprint('whole-core'), { template: 'whole-core' });
  driver.enforcesCpuLimit = true;
  await sup.spawn(blueprint('docker-like', { limits: { cpuPercent: 20 } }), { template: 'docker-like' });
  for (let i = 0; i < 20; i++) {
    clock.advance(2000);
    await sup.sampleUsage();
  }
  t.same(sup.list().map((a) => a.state), ['running', 'running']);
});

t.test('cpu-limit with a restart policy: the window starts again with each isolate, then quarantine', async (t) => {
  const { sup, driver, clock } = setup(t);
  driver.usage = { cpuPercent: 100, memoryBytes: 1000 };
  await sup.spawn(blueprint('spin', { limits: { cpuPercent: 25 }, restart: { policy: 'always', maxRestarts: 1, backoffMs: 1000 } }), { template: 'spin' });
  clock.advance(10_000);
  await sup.sampleUsage();
  await until(t, () => only(sup).state === 'restarting', 'stopped, restarting');
  clock.advance(1000);
  await until(t, () => only(sup).state === 'running', 'running again');
  clock.advance(9000);
  await sup.sampleUsage();
  t.equal(only(sup).state, 'running', 'the new isolate has its own window');
  clock.advance(1000);
  await sup.sampleUsage();
  await until(t, () => only(sup).state === 'crashed', 'quarantined');
  t.match(only(sup), { quarantined: true, reason: 'quarantined: cpu-limit: 100.0% for 10.0s, limit 25%; gave up after 1 restarts' });
});

t.test('memory-limit: restarted by the policy, quarantined after maxRestarts', async (t) => {
  const { sup, driver, clock, daemonLog } = setup(t);
  driver.usage = { cpuPercent: 1, memoryBytes: 200 * 1024 * 1024 };
  await sup.spawn(blueprint('leaky', { limits: { memoryMb: 64 }, restart: { policy: 'on-failure', maxRestarts: 2, backoffMs: 10 } }), { template: 'leaky' });
  // The first sample (taken when the agent reached running) already sees the leak.
  await until(t, () => only(sup).state === 'restarting', 'first failure');
  clock.advance(10);
  await until(t, () => only(sup).state === 'restarting' && driver.started.length === 2, 'second failure');
  clock.advance(20);
  await until(t, () => only(sup).state === 'crashed' && driver.started.length === 3, 'third failure: given up');
  t.match(only(sup), { quarantined: true, restarts: 2, reason: 'quarantined: memory-limit: using 200 MB, limit 64 MB; gave up after 2 restarts' });
  t.match(daemonLog.join('\n'), /restart series: 3 failure\(s\) in 0\.0s: #1 \+0\.0s memory-limit/);
  t.equal(only(sup).memoryBytes, 0, 'an ended agent holds no memory');
});

t.test('policy never and explicit kills are never quarantined', async (t) => {
  const { sup, driver } = setup(t);
  await sup.spawn(blueprint('once'), { template: 'once' });
  driver.started[0]?.end({ code: 1, cause: 'uncaught-error', error: { code: 'ERR_UNCAUGHT', message: 'boom' } });
  await until(t, () => only(sup).state === 'crashed', 'crashed');
  t.notOk(only(sup).quarantined);
  await sup.spawn(blueprint('killed', { restart: { policy: 'always', maxRestarts: 0 } }), { template: 'killed' });
  const k = await sup.kill('killed', 'SIGKILL');
  t.notOk(k.quarantined);
  t.equal(k.state, 'exited');
});

// Issue 13, finding 1: limits in every state, and a start timeout that stops.
t.test('an agent still starting is held to limits.memoryMb from the first sample', async (t) => {
  const { sup, driver } = setup(t);
  driver.scripts = ['never-start'];
  const spawning = sup.spawn(blueprint('hog', { limits: { memoryMb: 32 } }), { template: 'hog' });
  await until(t, () => driver.started.length === 1, 'isolate started');
  t.equal(only(sup).state, 'starting', 'still starting');
  driver.started[0]!.nextUsage = { cpuPercent: 5, memoryBytes: 500 * 1024 * 1024 };
  await sup.sampleUsage();
  await until(t, () => only(sup).state === 'crashed', 'stopped while starting');
  t.ok(driver.started[0]?.terminated, 'the isolate was terminated');
  t.match(only(sup).reason, /^memory-limit: using 500 MB, limit 32 MB$/);
  await spawning;
});

t.test('an agent not running after startTimeoutMs is stopped as a crash: restart policy, then quarantine', async (t) => {
  const { sup, driver, clock, daemonLog } = setup(t);
  driver.scripts = ['never-start'];
  const spawning = sup.spawn(blueprint('stuck', { restart: { policy: 'on-failure', maxRestarts: 1, backoffMs: 100 } }), { template: 'stuck' });
  await until(t, () => driver.started.length === 1, 'isolate started');
  clock.advance(999);
  await tick();
  t.equal(only(sup).state, 'starting', 'not yet at the timeout');
  clock.advance(1);
  t.not((await spawning).state, 'running', 'spawn answers at the timeout');
  await until(t, () => only(sup).state === 'restarting', 'stopped and restarting');
  t.ok(driver.started[0]?.terminated, 'the first isolate was terminated');
  t.match(only(sup).reason, 'start-timeout: not running after 1000 ms');
  clock.advance(100);
  await until(t, () => driver.started.length === 2, 'restarted by the policy');
  clock.advance(1000);
  await until(t, () => only(sup).state === 'crashed', 'second timeout ends the series');
  t.match(only(sup), { quarantined: true, restarts: 1, reason: 'quarantined: start-timeout: not running after 1000 ms; gave up after 1 restarts' });
  t.match(daemonLog.join('\n'), /restart series: 2 failure\(s\)/);
  t.equal(clock.pending, 0, 'no timer left behind');
});

t.test('an agent that reaches running in time is not timed out', async (t) => {
  const { sup, clock } = setup(t);
  await sup.spawn(blueprint('fine'), { template: 'fine' });
  clock.advance(5000);
  await tick();
  t.equal(only(sup).state, 'running');
});

t.test('a stop(ctx) that never resolves still ends in a kill within the grace period, even while starting', async (t) => {
  const { sup, driver, clock } = setup(t);
  driver.scripts = ['never-start'];
  const spawning = sup.spawn(blueprint('deaf'), { template: 'deaf' });
  await until(t, () => driver.started.length === 1, 'isolate started');
  const killing = sup.kill('1', 'SIGTERM');
  await until(t, () => only(sup).state === 'stopping', 'stopping');
  clock.advance(1999);
  await tick();
  t.notOk(driver.started[0]?.terminated, 'not before the grace period');
  clock.advance(1);
  t.match(await killing, { state: 'exited', reason: 'stopped by SIGTERM; terminated after the grace period' });
  t.ok(driver.started[0]?.terminated, 'killed at the end of the grace period');
  await spawning;
});

t.test('a limit met while stopping terminates at once; the stop stays a stop', async (t) => {
  const { sup, driver } = setup(t);
  driver.scripts = ['ignore-stop'];
  await sup.spawn(blueprint('fat', { limits: { memoryMb: 32 }, restart: { policy: 'always' } }), { template: 'fat' });
  const killing = sup.kill('1', 'SIGTERM');
  await until(t, () => only(sup).state === 'stopping', 'stopping');
  driver.started[0]!.nextUsage = { cpuPercent: 5, memoryBytes: 500 * 1024 * 1024 };
  await sup.sampleUsage();
  const s = await killing;
  t.ok(driver.started[0]?.terminated, 'terminated before the grace period ended');
  t.match(s, { state: 'exited', reason: 'stopped by SIGTERM; terminated early: memory-limit: using 500 MB, limit 32 MB' });
  t.equal(driver.started.length, 1, 'an explicit stop is never restarted');
});
