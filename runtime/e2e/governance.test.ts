// End to end (issue 6, resource governance): a real agent that burns tokens through ctx.metering past its
// limits.tokens is stopped (token-budget), restarted once by its policy with the count kept, then quarantined; a
// real agent that busy-loops past limits.cpuPercent is stopped (cpu-limit) in a worker and in a child process.
// Everything is read back through the CLI (`ps --json`, `ps`, `status --json`). The CPU window is shortened by
// config (agents.cpuLimitWindowMs, agents.usageIntervalMs) so the test is quick.
import path from 'node:path';
import t from 'tap';
import type { DaemonStatus, IAgentStatus } from '../control/protocol.ts';
import type { RunningDaemon } from './harness.ts';
import { agentFixture, startDaemon, tempDir, templatesWithConfig, writeTree } from './harness.ts';

const latest = async (d: RunningDaemon, agentId: string) => (await d.json<IAgentStatus[]>('ps')).filter((a) => a.agentId === agentId).at(-1);

const BURNER = `export default {
  name: 'burner',
  start(ctx) { this.t = setInterval(() => ctx.metering.tokens(50, { model: 'e2e' }), 5); },
  stop() { clearInterval(this.t); },
};
`;

// Busy for 50 ms at a time, yielding in between so the agent still answers the channel (and a stop request).
const SPINNER = `export default {
  name: 'spinner',
  start(ctx) {
    const spin = () => { const end = Date.now() + 50; while (Date.now() < end); if (!ctx.signal.aborted) setImmediate(spin); };
    spin();
  },
};
`;

t.test('token budget and CPU limit are enforced and visible in ps and status', async (t) => {
  const dir = tempDir(t);
  const { config } = templatesWithConfig(dir, {}, '  usageIntervalMs: 200\n  cpuLimitWindowMs: 1000\n');
  const d = await startDaemon(t, { args: ['--config', config] });
  const agents = path.join(dir, 'agents');
  writeTree(path.join(agents, 'burner'), agentFixture({ id: 'burner', plugins: ['./main.js'], limits: { tokens: 1000 }, restart: { policy: 'on-failure', maxRestarts: 1, backoffMs: 50 } }, { 'main.js': BURNER }));
  for (const isolation of ['worker', 'process']) {
    const id = `spinner-${isolation}`;
    writeTree(path.join(agents, id), agentFixture({ id, plugins: ['./main.js'], isolation, limits: { cpuPercent: 10 } }, { 'main.js': SPINNER }));
  }

  t.equal((await d.cli('spawn', path.join(agents, 'burner', 'agent.json'))).code, 0, 'burner spawned');

  await d.waitFor('burner to be quarantined', async () => (await latest(d, 'burner'))?.state === 'crashed', 20_000);
  const burner = await latest(d, 'burner');
  t.match(burner, { state: 'crashed', quarantined: true, restarts: 1, tokensBudget: 1000 });
  t.match(burner?.reason, /^quarantined: token-budget: used \d+ of 1000 tokens; gave up after 1 restarts$/);
  t.ok((burner?.tokensUsed ?? 0) > 1000, `tokensUsed ${burner?.tokensUsed} is past the budget`);
  t.match(d.log(), /agent burner \(pid \d+\) quarantined \(not restarted until spawned again\); restart series: 2 failure\(s\)/, 'the series is logged');

  // One spinner at a time: the test machine's cores are shared. The limit is low (10%) so that a spinning child
  // process, whose share is real CPU time, is still over it on a loaded machine (a worker's is loop utilisation).
  for (const isolation of ['worker', 'process']) {
    const id = `spinner-${isolation}`;
    const r = await d.cli('spawn', path.join(agents, id, 'agent.json'));
    // The limit holds while starting too (issue 13): a spinner may be stopped before spawn answers `running`.
    t.ok(r.code === 0 || /crashed: cpu-limit/.test(r.stderr), `${id} spawned (or stopped while starting): ${r.stderr}`);
    await d.waitFor(`${id} to be stopped`, async () => (await latest(d, id))?.state === 'crashed', 20_000);
    const s = await latest(d, id);
    t.match(s?.reason, /^cpu-limit: \d+\.\d% for \d+\.\ds, limit 10%$/, `${id}: ${s?.reason}`);
    t.notOk(s?.quarantined, `${id}: policy never: crashed, not quarantined`);
  }

  t.match(await latest(d, 'master'), { state: 'running', restarts: 0 }, 'the master (no CPU limit, no budget) is unaffected');
  const table = await d.cli('ps');
  t.match(table.stdout, /TOKENS/);
  t.match(table.stdout, new RegExp(`burner .* ${burner?.tokensUsed}/1000 .*quarantined: token-budget`));

  const status = await d.json<DaemonStatus>('status');
  t.ok(status.resources, 'status has resources');
  t.match(status.resources?.byDriver.worker, { quarantined: 1 });
  t.ok((status.resources?.byDriver.worker?.tokensUsed ?? 0) >= (burner?.tokensUsed ?? Infinity), 'worker tokens include the burner');
  t.ok((status.resources?.byDriver.worker?.agents ?? 0) >= 1, 'the master is a live worker agent');
  t.match(status.resources?.byDriver.process, { agents: 0 });
  t.equal(status.resources?.total.tokensUsed, burner?.tokensUsed);
  t.match((await d.cli('status')).stdout, /resources \(live agents; tokens include ended ones\):/);

  const again = await d.json<IAgentStatus>('spawn', path.join(agents, 'burner', 'agent.json'));
  t.match(again, { tokensUsed: 0 }, 'spawning again starts a fresh budget');
  t.notOk(again.quarantined);
});
