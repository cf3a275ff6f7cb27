// The daemon's parts as a /metrics snapshot: one row per agent id (the live instance wins over ended ones), sensor
// readings only from finite numbers, the link's drops by reason, rules sharing a name adding up, boot in seconds.
import t from 'tap';
import type { IAgentStatus } from '../supervisor/agent-status.ts';
import type { MqttLinkStatus } from '../link/mqtt-link-types.ts';
import type { OrchestratorStats } from '../orchestrator/orchestrator-stats.ts';
import { metricsAgents, metricsSnapshot } from './daemon-metrics.ts';

const agent = (pid: string, agentId: string, state: IAgentStatus['state'], startedAt: string, extra: Partial<IAgentStatus> = {}): IAgentStatus => ({
  pid, agentId, template: agentId, isolation: 'worker', state, startedAt, restarts: 0, cpuPercent: 1, memoryBytes: 2, tokensUsed: 3, ...extra,
});

t.test('one row per agent id: live beats ended, then the latest start', async (t) => {
  const rows = metricsAgents([
    agent('1', 'a', 'crashed', '2026-01-01T00:00:03Z', { quarantined: true }),
    agent('2', 'a', 'running', '2026-01-01T00:00:01Z'),
    agent('3', 'b', 'exited', '2026-01-01T00:00:01Z'),
    agent('4', 'b', 'exited', '2026-01-01T00:00:05Z', { restarts: 2 }),
  ]);
  t.same(rows.map((r) => [r.agent, r.state, r.restarts, r.quarantined]), [['a', 'running', 0, false], ['b', 'exited', 2, false]]);
});

t.test('the whole snapshot', async (t) => {
  const link = {
    state: 'connected', queue: { queued: 2, bytes: 50, dropped: 1, coalesced: 0, expired: 4, fileBytes: 0, compactions: 0, discardedTailBytes: 0 },
    droppedQos0: 5, rejected: 6, delivered: 7, incoming: { received: 9, delivered: 8, oversized: 2, malformed: 3, unmatched: 0, handlerErrors: 0 },
  } as unknown as MqttLinkStatus;
  const rules = { eventsSeen: 10, dropped: { rate: 1, loop: 0 }, perRule: [{ label: 'cool', fired: 2 }, { label: 'cool', fired: 3 }, { label: 'rules[2]', fired: 0 }] } as unknown as OrchestratorStats;
  const s = metricsSnapshot({
    version: '0.1.0', deviceId: 'pi', board: 'sim', readyAfterMs: 1500,
    phases: [{ name: 'control', state: 'done', durationMs: 4 }, { name: 'rules', state: 'pending' }],
    agents: [agent('1', 'master', 'running', '2026-01-01T00:00:00Z')],
    devices: [
      { id: 'env0', kind: 'sensor', driver: 'bme280', origin: 'board', state: 'ok', value: { temperature: 21.5, humidity: Number.NaN, label: 'x' }, updatedAt: '2026-01-01T00:00:01.500Z' },
      { id: 'fan', kind: 'actuator', driver: 'relay', origin: 'board', state: 'ok', value: 'off' },
      { id: 'env9', kind: 'sensor', driver: 'sht31', origin: 'config', state: 'failed' },
    ],
    halCalls: [{ device: 'env0', operation: 'read', calls: 3, refused: {} }],
    link,
    rules,
  });
  t.equal(s.bootSeconds, 1.5);
  t.same(s.phases, [{ phase: 'control', seconds: 0.004 }], 'phases that have not run are left out');
  t.same(s.devices, [{ device: 'env0', kind: 'sensor', ok: true, readings: { temperature: 21.5 }, readAtSeconds: 1767225601.5 }, { device: 'fan', kind: 'actuator', ok: true }, { device: 'env9', kind: 'sensor', ok: false }]);
  t.same(s.link, { connected: true, queued: 2, queueBytes: 50, dropped: { overflow: 1, expired: 4, 'qos0-offline': 5, rejected: 6, 'incoming-oversized': 2, 'incoming-malformed': 3 }, delivered: { out: 7, in: 8 } });
  t.same(s.rules, { eventsSeen: 10, dropped: { rate: 1, loop: 0 }, perRule: [{ rule: 'cool', fired: 5 }, { rule: 'rules[2]', fired: 0 }] });
  t.same(s.build, { version: '0.1.0', node: process.version, board: 'sim', deviceId: 'pi' });

  const booting = metricsSnapshot({ version: '0.1.0', deviceId: 'pi', board: 'unknown', readyAfterMs: undefined, phases: [], agents: [], devices: undefined, halCalls: undefined, link: undefined, rules: undefined });
  t.notOk('bootSeconds' in booting || 'link' in booting || 'rules' in booting, 'booting: no boot time, no link, no rules yet');
});
