import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { systemClock } from '../clock.ts';
import { openDeployer } from './deploy-recovery.ts';
import type { DeployProgress } from './deploy-types.ts';
import { bundleOf, FakeAgents, FakeState, FakeTemplates, quietLog } from './deploy.test-support.ts';

const ID = 'greenhouse';

async function setup(t: Test) {
  const root = path.join(t.testdir(), 'deployments');
  const agents = new FakeAgents();
  const state = new FakeState();
  const templates = new FakeTemplates();
  const open = () => openDeployer({ root, agents, state, templates, clock: systemClock, log: quietLog, healthWindowMs: 40, pollMs: 5 });
  const { deployer } = await open();
  return { root, agents, state, templates, deployer };
}

const cli = (progress: DeployProgress[] = []) => ({ origin: 'cli', onProgress: (p: DeployProgress) => void progress.push(p) });

t.test('first deploy starts the template; v2 replaces it, hydrated from the same state, and commits', async (t) => {
  const { root, agents, state, templates, deployer } = await setup(t);
  const firstProgress: DeployProgress[] = [];
  const first = await deployer.deploy(bundleOf(ID, '1.0.0'), cli(firstProgress));
  t.same(first, { outcome: 'committed', templateId: ID, version: '1.0.0' });
  t.same(firstProgress.map((p) => p.phase), ['pending', 'verified', 'staged', 'started', 'watching', 'healthy'], 'nothing to stop the first time');
  t.equal(agents.runningVersion(ID), '1.0.0', 'a template with no running agent is started');
  state.set(ID, { count: 7 });
  let hydratedWith: unknown;
  agents.onStart = () => (hydratedWith = state.get(ID));
  const progress: DeployProgress[] = [];
  const second = await deployer.deploy(bundleOf(ID, '1.1.0'), cli(progress));
  t.same(second, { outcome: 'committed', templateId: ID, version: '1.1.0', previous: '1.0.0' });
  t.same(progress.map((p) => p.phase), ['pending', 'verified', 'staged', 'stopping', 'started', 'watching', 'healthy']);
  t.match(progress, [{}, {}, {}, { phase: 'stopping', from: '1.0.0' }, { phase: 'started', version: '1.1.0' }, { phase: 'watching', windowMs: 40 }]);
  t.same(hydratedWith, { count: 7 }, 'the new version started on the old one\'s state');
  t.same(agents.stopped, [ID], 'the old one was stopped first');
  t.equal(agents.runningVersion(ID), '1.1.0');
  t.equal(deployer.current(ID), '1.1.0');
  t.equal(templates.versionOf(ID), '1.1.0', 'spawns of the template now run the deployed version');
  t.ok(existsSync(path.join(root, ID, '1.1.0', 'agent.json')));
  t.same(deployer.list(), [{ templateId: ID, current: '1.1.0', previous: '1.0.0', kept: ['1.0.0', '1.1.0'], failed: [] }]);
  t.match(deployer.stats(), { applied: 2, rolledBack: 0, refused: 0, last: { outcome: 'committed', version: '1.1.0' } });
});

t.test('a version that crashes at start is rolled back: previous version running, state as before', async (t) => {
  const { agents, state, templates, deployer } = await setup(t);
  await deployer.deploy(bundleOf(ID, '2.0.0'), cli());
  state.set(ID, { count: 3 });
  agents.behaviour = (v) => (v === '3.0.0' ? 'crash-at-start' : 'ok');
  const progress: DeployProgress[] = [];
  const out = await deployer.deploy(bundleOf(ID, '3.0.0'), cli(progress));
  t.equal(out.outcome, 'rolled-back');
  t.match(out, { reason: /did not start: crashed \(start\(\) threw: boom\)/ });
  t.same(progress.map((p) => p.phase), ['pending', 'verified', 'staged', 'stopping', 'rolled-back'], 'never started: no health window');
  t.match(progress[4], { reason: /did not start/ });
  t.equal(agents.runningVersion(ID), '2.0.0', 'the previous version runs again');
  t.same(state.get(ID), { count: 3 });
  t.equal(deployer.current(ID), '2.0.0');
  t.equal(templates.versionOf(ID), '2.0.0');
  t.match(deployer.list()[0], { current: '2.0.0', failed: [{ version: '3.0.0', reason: /did not start/ }] });
});

t.test('a version that crashes within the health window is rolled back and its state writes undone', async (t) => {
  const { agents, state, deployer } = await setup(t);
  await deployer.deploy(bundleOf(ID, '2.0.0'), cli());
  state.set(ID, { count: 3 });
  agents.behaviour = (v) => (v === '3.0.0' ? 'crash-later' : 'ok');
  agents.onStart = (b) => b.manifest.version === '3.0.0' && state.set(ID, { count: 'garbage' });
  const out = await deployer.deploy(bundleOf(ID, '3.0.0'), cli());
  t.match(out, { outcome: 'rolled-back', reason: /crashed and was restarted during the health window/ });
  t.equal(agents.runningVersion(ID), '2.0.0');
  t.same(state.get(ID), { count: 3 }, 'the state copy taken before the swap is back');
  t.match(deployer.stats(), { applied: 1, rolledBack: 1 });
});

t.test('a downgrade or the same version is refused and changes nothing on disk', async (t) => {
  const { root, agents, deployer } = await setup(t);
  await deployer.deploy(bundleOf(ID, '2.0.0'), cli());
  const before = readdirSync(path.join(root, ID)).sort();
  const journal = readdirSync(root).sort();
  for (const v of ['1.9.9', '2.0.0', '2.0.0-rc.1']) {
    const out = await deployer.deploy(bundleOf(ID, v), cli());
    t.match(out, { outcome: 'refused', reason: /is not newer than 2\.0\.0/ }, v);
  }
  t.same(readdirSync(path.join(root, ID)).sort(), before);
  t.same(readdirSync(root).sort(), journal);
  t.equal(agents.started.length, 1, 'nothing was started');
  t.match(deployer.stats(), { refused: 3 });
});

t.test('a bundle whose manifest does not match it, or does not validate, is refused', async (t) => {
  const { root, deployer } = await setup(t);
  const lying = bundleOf(ID, '1.0.0');
  const out = await deployer.deploy({ ...lying, version: '5.0.0' }, cli());
  t.match(out, { outcome: 'refused', reason: /says greenhouse@5\.0\.0 but its agent\.json says greenhouse@1\.0\.0/ });
  const bad = await deployer.deploy(bundleOf(ID, '1.0.0', { isolation: 'nonsense' }), cli());
  t.match(bad, { outcome: 'refused', reason: /isolation/ });
  t.notOk(existsSync(path.join(root, ID, '1.0.0')), 'nothing staged');
});

t.test('the shipped template\'s version is the floor for the first deployment', async (t) => {
  const { agents, templates, deployer } = await setup(t);
  templates.own.set(ID, { manifest: { id: ID, version: '1.5.0' } } as never);
  t.match(await deployer.deploy(bundleOf(ID, '1.0.0'), cli()), { outcome: 'refused', reason: /not newer than 1\.5\.0/ });
  t.equal(agents.started.length, 0);
});

t.test('deployments of one template are serialized: a second one in flight is refused with ERR_DEPLOY_BUSY', async (t) => {
  const { deployer } = await setup(t);
  const [a, b] = await Promise.all([deployer.deploy(bundleOf(ID, '1.0.0'), cli()), deployer.deploy(bundleOf(ID, '1.1.0'), cli())]);
  t.equal(a.outcome, 'committed');
  t.match(b, { outcome: 'refused', reason: /^ERR_DEPLOY_BUSY: / });
});

t.test('deployments of different templates wait their turn: both commit and the journal keeps both', async (t) => {
  const { root, agents, state, templates, deployer } = await setup(t);
  const phases: string[] = [];
  const log = (p: DeployProgress) => void phases.push(`${p.templateId}:${p.phase}`);
  const [a, b] = await Promise.all([
    deployer.deploy(bundleOf(ID, '1.0.0'), { origin: 'cli', onProgress: log }),
    deployer.deploy(bundleOf('orchard', '2.0.0'), { origin: 'mqtt:openstarry/groups/g/deploy', onProgress: log }),
  ]);
  t.same([a.outcome, b.outcome], ['committed', 'committed']);
  t.ok(phases.indexOf('orchard:verified') > phases.indexOf(`${ID}:healthy`), `the second starts after the first ended: ${phases.join(' ')}`);
  const reopened = await openDeployer({ root, agents, state, templates, clock: systemClock, log: quietLog, healthWindowMs: 40, pollMs: 5 });
  t.equal(reopened.deployer.current(ID), '1.0.0', 'the first commit survives the second');
  t.equal(reopened.deployer.current('orchard'), '2.0.0');
});

t.test('rollback by hand and redeploy of a kept version; only the last 3 versions stay on disk', async (t) => {
  const { root, agents, deployer } = await setup(t);
  for (const v of ['1.0.0', '1.1.0', '1.2.0', '1.3.0']) t.equal((await deployer.deploy(bundleOf(ID, v), cli())).outcome, 'committed');
  t.same(readdirSync(path.join(root, ID)).sort(), ['1.1.0', '1.2.0', '1.3.0'], 'the oldest is pruned');
  const back = await deployer.rollback(ID, cli());
  t.same(back, { outcome: 'committed', templateId: ID, version: '1.2.0', previous: '1.3.0' });
  t.equal(agents.runningVersion(ID), '1.2.0');
  t.match(await deployer.redeploy(ID, '1.0.0', cli()), { outcome: 'refused', reason: /not kept on this board/ });
  t.match(await deployer.redeploy(ID, '1.3.0', cli()), { outcome: 'committed', version: '1.3.0' });
  t.match(await deployer.rollback('nothing-here', cli()), { outcome: 'refused', reason: /no previous deployed version/ });
});

t.test('after a restart, the committed version is what the template store spawns', async (t) => {
  const { root, deployer } = await setup(t);
  await deployer.deploy(bundleOf(ID, '1.0.0'), cli());
  await deployer.deploy(bundleOf(ID, '1.1.0'), cli());
  const templates = new FakeTemplates();
  const again = await openDeployer({ root, agents: new FakeAgents(), state: new FakeState(), templates, clock: systemClock, log: quietLog, healthWindowMs: 40 });
  t.equal(again.deployer.current(ID), '1.1.0');
  t.equal(templates.versionOf(ID), '1.1.0');
  t.notOk(again.interrupted);
});

t.test('a manifest that declares "health": true commits only when its last ctx.health report in the window is OK', async (t) => {
  const { agents, deployer } = await setup(t);
  agents.onStart = (b) => {
    const v = b.manifest.version;
    if (v === '1.0.0') agents.report(ID, { ok: true });
    if (v === '1.1.0') agents.report(ID, { ok: false, reason: 'sensor env0 not answering' });
  };
  t.match(await deployer.deploy(bundleOf(ID, '1.0.0', { health: true }), cli()), { outcome: 'committed' });
  t.match(await deployer.deploy(bundleOf(ID, '1.1.0', { health: true }), cli()), { outcome: 'rolled-back', reason: 'reported unhealthy: sensor env0 not answering' });
  t.match(await deployer.deploy(bundleOf(ID, '1.2.0', { health: true }), cli()), { outcome: 'rolled-back', reason: /sent no ctx\.health\(\) report/ });
  t.match(await deployer.deploy(bundleOf(ID, '1.3.0'), cli()), { outcome: 'committed' }, 'without the declaration, no report is needed');
});
