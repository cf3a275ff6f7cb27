// Issue 16: "a power cut at any step leaves the board running exactly one of the two versions after reboot". The
// journal goes through the power-cut file system (runtime/state/power-cut-fs.test-support.ts): the deployment of
// 2.0.0 over a committed 1.0.0 is cut at every file-system operation of the journal, the file system comes back
// with each prefix of its unsynced directory changes, and the next boot (openDeployer, then the daemon's recovery
// of the journaled agent) must run 1.0.0 with its state as it was, or 2.0.0 committed — never anything else.
import path from 'node:path';
import t from 'tap';
import { systemClock } from '../clock.ts';
import type { JsonValue } from '../state/state-schema.ts';
import { PowerCutFs } from '../state/power-cut-fs.test-support.ts';
import { openDeployer } from './deploy-recovery.ts';
import { bundleOf, FakeAgents, FakeState, FakeTemplates, quietLog } from './deploy.test-support.ts';

const ID = 'greenhouse';

for (const behaviour of ['ok', 'crash-at-start'] as const) t.test(`a power cut at each step of a deployment (2.0.0 ${behaviour === 'ok' ? 'healthy' : 'crashes: rolled back'}): after reboot exactly one version runs, with its state`, async (t) => {
  const root = path.join(t.testdir(), 'deployments');
  const base = new PowerCutFs(root);
  const setupAgents = new FakeAgents();
  const { deployer } = await openDeployer({ root, fs: base, agents: setupAgents, state: new FakeState(), templates: new FakeTemplates(), clock: systemClock, log: quietLog, healthWindowMs: 5, pollMs: 1 });
  t.equal((await deployer.deploy(bundleOf(ID, '1.0.0'), { origin: 'test' })).outcome, 'committed');
  const seen = { committed: 0, rolledBack: 0, cuts: 0 };
  for (let n = 0; ; n++) {
    const fs = base.powerCut();
    const agents = new FakeAgents();
    const state = new FakeState();
    state.set(ID, { count: 1 });
    const templates = new FakeTemplates();
    const before = await openDeployer({ root, fs, agents, state, templates, clock: systemClock, log: quietLog, healthWindowMs: 5, pollMs: 1 });
    await agents.start(await templates.fresh(ID), ID); // 1.0.0 runs, as the boot left it
    agents.behaviour = (v) => (v === '2.0.0' ? behaviour : 'ok');
    agents.onStart = (b) => b.manifest.version === '2.0.0' && state.set(ID, { count: 'written by 2.0.0' });
    fs.crashAt(n);
    let finished = true;
    try {
      await before.deployer.deploy(bundleOf(ID, '2.0.0'), { origin: 'test' });
    } catch {
      finished = false;
    }
    for (let prefix = 0; prefix <= fs.pendingDirOps; prefix++) {
      seen.cuts += 1;
      // The reboot: nothing runs, the state DB holds what was last written (FakeState is durable at once).
      const rebootAgents = new FakeAgents();
      const rebootState = new FakeState();
      for (const [k, v] of state.values) rebootState.set(k, v as JsonValue);
      const rebootTemplates = new FakeTemplates();
      const boot = await openDeployer({ root, fs: fs.powerCut(prefix), agents: rebootAgents, state: rebootState, templates: rebootTemplates, clock: systemClock, log: quietLog, healthWindowMs: 5 });
      // The daemon's recovery phase spawns the journaled agent from the template store.
      await rebootAgents.start(await rebootTemplates.fresh(ID), ID);
      const current = boot.deployer.current(ID);
      const label = `cut at op ${n}${finished ? ' (after the last)' : ''}, ${prefix} pending dir op(s) kept`;
      t.ok(current === '1.0.0' || current === '2.0.0', `${label}: current is one of the two (${current})`);
      t.equal(rebootAgents.runningVersion(ID), current, `${label}: the running version is the current one`);
      if (current === '1.0.0') {
        seen.rolledBack += 1;
        t.same(rebootState.get(ID), { count: 1 }, `${label}: 1.0.0 runs on its own state`);
      } else {
        seen.committed += 1;
        t.notOk(boot.interrupted, `${label}: a committed deployment is not rolled back`);
      }
      t.equal(boot.deployer.list()[0]?.current, current);
    }
    if (finished) break;
  }
  if (behaviour === 'ok') t.ok(seen.rolledBack > 0 && seen.committed > 0, `both outcomes reached: ${JSON.stringify(seen)}`);
  else t.ok(seen.rolledBack > 0 && seen.committed === 0, `a failing version is never current: ${JSON.stringify(seen)}`);
});
