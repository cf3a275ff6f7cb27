// The state DB as an infrastructure plugin: start = open + boot scan, stop = clean-shutdown marker + close.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { InfrastructureRunner } from '../daemon/infrastructure.ts';
import { ErrorCode } from '../errors.ts';
import { silentLogger } from '../logging/logger.ts';
import { ManualClock } from './manual-clock.test-support.ts';
import { StateDbPlugin } from './state-db-plugin.ts';

t.test('start opens and scans, stop marks the clean shutdown and closes', async (t) => {
  const file = path.join(t.testdir(), 'state.json');
  const clock = new ManualClock();
  const plugin = new StateDbPlugin({ file, clock });
  t.equal(plugin.name, 'state-db');
  t.same(plugin.status(), { state: 'stopped', file });
  t.throws(() => plugin.db, { code: ErrorCode.NOT_READY }, 'no DB before start');
  await plugin.start();
  t.same(plugin.boot, { abnormal: false, previousDesired: [], bootCount: 1 });
  const status = plugin.status();
  t.equal(status.state, 'running');
  t.same(status.recovery, { source: 'fresh' }, 'a first boot: nothing to recover');
  t.equal(status.stats?.writes, 1);
  plugin.db.setSnapshot('master', { mood: 'ok' });
  plugin.db.journal.setDesired([{ agentId: 'master', template: 'master-agent', since: clock.now() }]);
  await plugin.stop();
  await plugin.stop();
  t.equal(plugin.status().state, 'closed');
  t.equal(clock.pending, 0, 'no timers left');
  const doc = JSON.parse(await readFile(file, 'utf8'));
  t.equal(doc.journal.cleanShutdown, true);
  t.same(doc.agents.master.snapshot, { mood: 'ok' }, 'the last snapshot was saved on stop');

  const next = new StateDbPlugin({ file, clock });
  await next.start();
  t.equal(next.boot?.abnormal, false);
  t.same(next.boot?.previousDesired.map((d) => d.agentId), ['master']);
  t.same(next.db.getSnapshot('master'), { mood: 'ok' }, 'hydrated from the last snapshot');
  await next.stop();
});

t.test('stop before start is a no-op (InfrastructurePlugin contract)', async (t) => {
  const plugin = new StateDbPlugin({ file: path.join(t.testdir(), 'state.json') });
  await t.resolves(plugin.stop());
  t.same(plugin.status().state, 'stopped');
});

t.test('runs under the InfrastructureRunner; an unclean end shows at the next boot', async (t) => {
  const file = path.join(t.testdir(), 'state.json');
  const first = new StateDbPlugin({ file, clock: new ManualClock() });
  const runner = new InfrastructureRunner([first], silentLogger);
  await runner.startAll();
  t.same(runner.states(), [{ name: 'state-db', state: 'running' }]);
  first.db.journal.setDesired([{ agentId: 'fan-control', template: 'fan-control', since: 1 }]);
  await first.db.flush();
  // No stopAll: the process is gone.
  const warnings: string[] = [];
  const log = { ...silentLogger, warn: (m: string) => void warnings.push(m) };
  const second = new StateDbPlugin({ file, clock: new ManualClock(), log });
  await second.start();
  t.equal(second.boot?.abnormal, true);
  t.same(second.boot?.previousDesired.map((d) => d.agentId), ['fan-control']);
  t.same(warnings, ['previous run was interrupted']);
  t.same(second.status().boot, second.boot);
  await second.stop();
  await runner.stopAll();
});
