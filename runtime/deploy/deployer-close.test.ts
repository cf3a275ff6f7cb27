// The daemon's shutdown during a deployment (README "Deploying updates"): Deployer.close() ends it `interrupted`,
// neither committed nor failed, and the next boot (openDeployer) resolves the journal exactly as after a power cut
// (deploy-power-cut.test.ts checks the same thing for cuts): one version current, that one running, on its state.
// The health window is an hour on a ManualClock that never moves: close() must end it by itself.
import { existsSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { ManualClock } from '../manual-clock.ts';
import type { JsonValue } from '../state/state-schema.ts';
import { DeployJournal } from './deploy-journal.ts';
import { openDeployer } from './deploy-recovery.ts';
import type { DeployProgress } from './deploy-types.ts';
import { bundleOf, FakeAgents, FakeState, FakeTemplates, quietLog } from './deploy.test-support.ts';

const ID = 'greenhouse';
const HOUR = 3_600_000;

/** A board running a committed 1.0.0 on state {count: 1}; 2.0.0 writes over that state when it starts. */
async function board(t: Test) {
  const root = path.join(t.testdir(), 'deployments');
  const agents = new FakeAgents();
  const state = new FakeState();
  const templates = new FakeTemplates();
  const clock = new ManualClock();
  const { deployer } = await openDeployer({ root, agents, state, templates, clock, log: quietLog, healthWindowMs: HOUR, pollMs: 200 });
  const first = deployer.deploy(bundleOf(ID, '1.0.0'), { origin: 'test', healthWindowMs: 1 });
  // The first deployment's 1 ms window, on the manual clock.
  while (deployer.stats().applied === 0) {
    clock.advance(1);
    await new Promise((resolve) => setImmediate(resolve));
  }
  t.equal((await first).outcome, 'committed');
  state.set(ID, { count: 1 });
  agents.onStart = (b) => b.manifest.version === '2.0.0' && state.set(ID, { count: 'written by 2.0.0' });
  return { root, agents, state, templates, clock, deployer };
}

/** The next boot on the same disk and state DB: recovery, then the daemon spawning the journaled agent. */
async function reboot(root: string, state: FakeState) {
  const agents = new FakeAgents();
  const rebootState = new FakeState();
  for (const [k, v] of state.values) rebootState.set(k, v as JsonValue);
  const templates = new FakeTemplates();
  const boot = await openDeployer({ root, agents, state: rebootState, templates, clock: new ManualClock(), log: quietLog, healthWindowMs: HOUR });
  await agents.start(await templates.fresh(ID), ID);
  return { boot, agents, state: rebootState };
}

for (const at of ['watching', 'started', 'stopping', 'staged'] as const) {
  t.test(`close() at "${at}": interrupted, the journal keeps it in flight, the next boot rolls it back as after a power cut`, async (t) => {
    const { root, agents, state, clock, deployer } = await board(t);
    const phases: string[] = [];
    let closed: Promise<void> | undefined;
    const onProgress = (p: DeployProgress) => {
      phases.push(p.phase);
      if (p.phase === at) closed = deployer.close();
    };
    const out = await deployer.deploy(bundleOf(ID, '2.0.0'), { origin: 'cli', onProgress });
    await closed;
    t.equal(clock.pending, 0, 'no timer left behind; the clock never moved past the window\'s start');
    const phase = at === 'stopping' ? 'swapping' : at === 'staged' ? 'staged' : 'watching';
    t.match(out, { outcome: 'interrupted', templateId: ID, version: '2.0.0', reason: new RegExp(`^ERR_DEPLOY_INTERRUPTED: the daemon is shutting down at ${phase}; neither committed nor failed: its next start rolls it back to 1\\.0\\.0`) });
    t.notOk(phases.includes('rolled-back') || phases.includes('healthy'), `no outcome phase reported: ${phases.join(' ')}`);
    t.match(deployer.stats(), { applied: 1, rolledBack: 0, interrupted: 1, inFlight: [], last: { outcome: 'interrupted' } });
    t.equal(deployer.current(ID), '1.0.0', 'not committed');
    t.same(deployer.list()[0]?.failed, [], 'not recorded as failed');
    const journal = await DeployJournal.open(path.join(root, 'journal.json'));
    t.match(journal.inFlight, { templateId: ID, from: '1.0.0', to: '2.0.0', phase, wasRunning: true }, 'still in flight on disk');
    if (at === 'watching' || at === 'started') {
      t.equal(agents.runningVersion(ID), '2.0.0', 'the new version is left to the daemon\'s stopAll, not stopped as a failure');
      t.same(agents.stopped, [ID], 'only the old version was stopped');
    }
    if (at === 'stopping') t.same(agents.started, [`${ID}@1.0.0`], 'the old version\'s stop finished; the new one never started');
    if (at === 'staged') t.equal(agents.runningVersion(ID), '1.0.0', 'the old version was never stopped');
    t.equal(await deployer.deploy(bundleOf(ID, '2.0.1'), { origin: 'cli' }).then((o) => o.outcome), 'interrupted', 'a closed deployer starts nothing');
    await deployer.close(); // idempotent

    const next = await reboot(root, state);
    t.match(next.boot.interrupted, { templateId: ID, to: '2.0.0', phase });
    t.equal(next.boot.deployer.current(ID), '1.0.0');
    t.equal(next.agents.runningVersion(ID), '1.0.0', 'the previous version runs');
    t.same(next.state.get(ID), { count: 1 }, 'on its own state');
    t.match(next.boot.deployer.list()[0]?.failed, [{ version: '2.0.0', reason: new RegExp(`^interrupted at ${phase} \\(power cut or daemon stop\\); rolled back at boot`) }], 'the documented power-cut record');
  });
}

t.test('close() before the journal: dropped, the staged folder removed, nothing in flight; a deployment waiting its turn never starts', async (t) => {
  const { root, agents, deployer } = await board(t);
  let closed: Promise<void> | undefined;
  const other: DeployProgress[] = [];
  const [dropped, queued] = await Promise.all([
    deployer.deploy(bundleOf(ID, '2.0.0'), { origin: 'cli', onProgress: (p) => void (p.phase === 'verified' && (closed = deployer.close())) }),
    deployer.deploy(bundleOf('orchard', '1.0.0'), { origin: 'cli', onProgress: (p) => void other.push(p) }),
  ]);
  await closed;
  t.match(dropped, { outcome: 'interrupted', reason: /^ERR_DEPLOY_INTERRUPTED: the daemon is shutting down; the deployment had not started and nothing changed/ });
  t.match(queued, { outcome: 'interrupted', templateId: 'orchard', reason: /had not started/ });
  t.same(other.map((p) => p.phase), ['pending'], 'the waiting one never went further');
  t.notOk(existsSync(path.join(root, ID, '2.0.0')), 'the staged version folder is gone');
  t.ok(existsSync(path.join(root, ID, '1.0.0')), 'the kept version stays');
  t.notOk(existsSync(path.join(root, 'orchard')));
  t.equal((await DeployJournal.open(path.join(root, 'journal.json'))).inFlight, null);
  t.equal(agents.runningVersion(ID), '1.0.0');
  t.match(deployer.stats(), { interrupted: 2 });
});

t.test('close() waits for the step running: the old version\'s stop(ctx) grace ends before close() resolves', async (t) => {
  const { root, agents, deployer } = await board(t);
  const order: string[] = [];
  let finishStop!: () => void;
  const realStop = agents.stop.bind(agents);
  agents.stop = async (id) => {
    order.push('stop began');
    await new Promise<void>((resolve) => (finishStop = resolve));
    await realStop(id);
    order.push('stop ended');
  };
  const out = deployer.deploy(bundleOf(ID, '2.0.0'), { origin: 'cli' });
  while (!order.includes('stop began')) await new Promise((resolve) => setImmediate(resolve));
  const closed = deployer.close().then(() => order.push('close resolved'));
  await new Promise((resolve) => setImmediate(resolve));
  finishStop();
  await closed;
  t.same(order, ['stop began', 'stop ended', 'close resolved']);
  t.match(await out, { outcome: 'interrupted', reason: /at swapping/ });
  t.match((await DeployJournal.open(path.join(root, 'journal.json'))).inFlight, { phase: 'swapping' });
});
