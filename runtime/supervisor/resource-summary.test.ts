// resourceSummary: totals per isolation driver from IAgentStatus rows (what `status` shows and telemetry sends).
import t from 'tap';
import { agentStatus } from '../control/test-kit.ts';
import { resourceSummary } from './resource-summary.ts';

t.test('live agents count for cpu and memory; tokens and quarantines count for every listed instance', async (t) => {
  const summary = resourceSummary(
    [
      agentStatus({ pid: '1', isolation: 'worker', cpuPercent: 0.1, memoryBytes: 100, tokensUsed: 5 }),
      agentStatus({ pid: '2', isolation: 'worker', state: 'restarting', cpuPercent: 0.2, memoryBytes: 50, tokensUsed: 0 }),
      agentStatus({ pid: '3', isolation: 'worker', state: 'crashed', cpuPercent: 0, memoryBytes: 0, tokensUsed: 1200, quarantined: true }),
      agentStatus({ pid: '4', isolation: 'process', cpuPercent: 40, memoryBytes: 4000, tokensUsed: 7 }),
      agentStatus({ pid: '5', isolation: 'process', state: 'exited', cpuPercent: 0, memoryBytes: 0, tokensUsed: 1 }),
    ],
    ['worker', 'process', 'docker'],
  );
  t.same(summary, {
    byDriver: {
      worker: { agents: 2, cpuPercent: 0.3, memoryBytes: 150, tokensUsed: 1205, quarantined: 1 },
      process: { agents: 1, cpuPercent: 40, memoryBytes: 4000, tokensUsed: 8, quarantined: 0 },
      docker: { agents: 0, cpuPercent: 0, memoryBytes: 0, tokensUsed: 0, quarantined: 0 },
    },
    total: { agents: 3, cpuPercent: 40.3, memoryBytes: 4150, tokensUsed: 1213, quarantined: 1 },
  });
  t.same(Object.keys(summary.byDriver), ['worker', 'process', 'docker'], 'in the order given');
});

t.test('an empty list and a driver not named in advance', async (t) => {
  t.same(resourceSummary([]), { byDriver: {}, total: { agents: 0, cpuPercent: 0, memoryBytes: 0, tokensUsed: 0, quarantined: 0 } });
  t.same(Object.keys(resourceSummary([agentStatus({ isolation: 'wasm' })]).byDriver), ['wasm']);
});
