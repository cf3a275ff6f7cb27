// State projection (spec 000 §3.2) on the manual clock: the global view, retained state/<agentId> only on change and
// cleared when the agent is gone, telemetry, a hung agent not stalling the tick, oversized snapshots, no leaked timers.
import t from 'tap';
import type { IAgentStatus } from '../supervisor/agent-status.ts';
import type { JsonValue } from '../core/plugin.ts';
import { createLogger } from '../logging/logger.ts';
import { ManualClock } from '../manual-clock.ts';
import type { ProjectionPublisher } from './state-projection.ts';
import { SNAPSHOT_MAX_CHARS, StateProjection } from './state-projection.ts';

const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

function status(pid: string, agentId: string, state: IAgentStatus['state'] = 'running', extra: Partial<IAgentStatus> = {}): IAgentStatus {
  return { pid, agentId, template: agentId, isolation: 'worker', state, startedAt: '2026-01-01T00:00:00.000Z', restarts: 0, cpuPercent: 2, memoryBytes: 1000, tokensUsed: 5, ...extra };
}

class RecordingPublisher implements ProjectionPublisher {
  messages: { topic: string; payload: JsonValue | undefined; retain: boolean }[] = [];
  publish(topic: string, payload: JsonValue, options: { retain: boolean }) {
    this.messages.push({ topic, payload, retain: options.retain });
  }
  clearRetained(topic: string) {
    this.messages.push({ topic, payload: undefined, retain: true });
  }
  topics() {
    return this.messages.map((m) => (m.payload === undefined ? `${m.topic} (cleared)` : m.topic));
  }
}

function setup(agents: IAgentStatus[], snapshots: Record<string, () => Promise<unknown>>) {
  const clock = new ManualClock();
  const publisher = new RecordingPublisher();
  const lines: string[] = [];
  const projection = new StateProjection({
    deviceId: 'pi-1',
    listAgents: () => agents,
    snapshot: (pid) => (snapshots[pid] ?? (async () => ({})))(),
    publisher,
    clock,
    log: createLogger('proj', { write: (l) => void lines.push(l) }),
    intervalMs: 10_000,
    snapshotTimeoutMs: 2000,
  });
  return { clock, publisher, projection, lines };
}

t.test('a tick builds the global view and publishes state, state/<id> and telemetry', async (t) => {
  const agents = [status('1', 'master'), status('2', 'motion-camera', 'running', { cpuPercent: 10, memoryBytes: 5000 }), status('3', 'old', 'exited')];
  const { publisher, projection } = setup(agents, {
    '1': async () => ({ 'master/heartbeat': { beats: 3 } }),
    '2': async () => ({ 'motion/last': 123 }),
  });
  const view = await projection.tick();
  t.same(Object.keys(view.agents), ['master', 'motion-camera'], 'ended instances are not in the view');
  t.match(view, { deviceId: 'pi-1', at: /^\d{4}-/ });
  t.same(view.agents.master, { pid: '1', state: 'running', template: 'master', isolation: 'worker', startedAt: '2026-01-01T00:00:00.000Z', restarts: 0, snapshot: { 'master/heartbeat': { beats: 3 } }, cpuPercent: 2, memoryBytes: 1000, tokensUsed: 5 });
  t.same(publisher.topics(), ['state', 'state/master', 'state/motion-camera', 'telemetry']);
  t.same(publisher.messages.map((m) => m.retain), [true, true, true, false]);
  t.match(projection.telemetry(), { totals: { agents: 2, cpuPercent: 12, memoryBytes: 6000, tokensUsed: 10 }, agents: { 'motion-camera': { pid: '2', cpuPercent: 10 } } });
  t.same(projection.view(), view);
});

t.test('state/<id> only when it changed; cleared when the agent is gone; usage alone is no change', async (t) => {
  const agents = [status('1', 'master'), status('2', 'cam')];
  let beats = 1;
  const { publisher, projection } = setup(agents, { '1': async () => ({ beats }) });
  await projection.tick();
  publisher.messages.length = 0;
  (agents[1] as IAgentStatus).cpuPercent = 55;
  await projection.tick();
  t.same(publisher.topics(), ['telemetry'], 'nothing changed but usage: only telemetry (no retained QoS 1 rewrite of state)');
  publisher.messages.length = 0;
  beats = 2;
  agents.pop();
  await projection.tick();
  t.same(publisher.topics(), ['state', 'state/master', 'state/cam (cleared)', 'telemetry']);
});

t.test('a hung agent times out without stalling the others; its last snapshot is kept and marked', async (t) => {
  const agents = [status('1', 'fast'), status('2', 'slow')];
  let hang = false;
  const { clock, projection } = setup(agents, { '1': async () => ({ ok: true }), '2': () => (hang ? new Promise(() => undefined) : Promise.resolve({ n: 1 })) });
  await projection.tick();
  hang = true;
  const ticking = projection.tick();
  await flush();
  clock.advance(2000);
  const view = await ticking;
  t.same(view.agents.fast?.snapshot, { ok: true });
  t.same(view.agents.slow?.snapshot, { n: 1 }, 'the last snapshot');
  t.equal(view.agents.slow?.snapshotError, 'no snapshot within 2000 ms');
  t.equal(clock.pending, 0, 'the timeouts are cleared');
});

t.test('a failing or oversized snapshot is marked, not fatal; non-running agents are listed without a pull', async (t) => {
  const pulled: string[] = [];
  const agents = [status('1', 'boom'), status('2', 'big'), status('3', 'starting', 'starting')];
  const { projection } = setup(agents, {
    '1': async () => {
      pulled.push('1');
      throw new Error('channel closed');
    },
    '2': async () => {
      pulled.push('2');
      return { blob: 'x'.repeat(SNAPSHOT_MAX_CHARS) };
    },
    '3': async () => {
      pulled.push('3');
      return {};
    },
  });
  const view = await projection.tick();
  t.same(pulled.sort(), ['1', '2']);
  t.match(view.agents.boom, { snapshot: null, snapshotError: 'channel closed' });
  t.match(view.agents.big, { snapshot: { truncated: true }, snapshotError: /more than 65536/ });
  t.match(view.agents.starting, { state: 'starting', snapshot: null });
});

t.test('start() projects now and every interval, never overlapping; close() stops it; a failing list is logged', async (t) => {
  const agents = [status('1', 'a')];
  const { clock, projection, lines } = setup(agents, {});
  projection.start();
  projection.start();
  await flush();
  t.equal(projection.ticks, 1, 'projected at once, once');
  clock.advance(9_999);
  await flush();
  t.equal(projection.ticks, 1);
  clock.advance(1);
  await flush();
  t.equal(projection.ticks, 2, 'and again after the interval');
  await projection.close();
  await projection.close();
  t.equal(clock.pending, 0, 'no timer left after close');
  clock.advance(60_000);
  await flush();
  t.equal(projection.ticks, 2);
  t.same(lines.filter((l) => /failed/.test(l)), []);

  const broken = new StateProjection({
    deviceId: 'x',
    clock,
    listAgents: () => {
      throw new Error('supervisor gone');
    },
    snapshot: async () => ({}),
    log: createLogger('p', { write: (l) => void lines.push(l) }),
  });
  broken.start();
  await flush();
  t.ok(lines.some((l) => /state projection failed: supervisor gone/.test(l)));
  await broken.close();
  t.equal(clock.pending, 0);
});
