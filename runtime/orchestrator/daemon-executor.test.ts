// The chain as the daemon wires it, minus the isolates: real AgentCores on in-memory channels, serveAgentEvents,
// the registry, createDaemonExecutor and the Orchestrator with a fake supervisor. An agent's publication reaches a
// rule, the rule's notify reaches another agent, subscribers get broadcasts by grant, and a spawn carries its trigger.
import t from 'tap';
import type { IAgentStatus } from '../supervisor/agent-status.ts';
import { AgentCore } from '../core/agent-core.ts';
import type { AgentEvent } from '../core/agent-events.ts';
import { ChannelEndpoint } from '../core/channel-endpoint.ts';
import type { IHAL } from '../core/hal-api.ts';
import { inMemoryChannelPair } from '../core/in-memory-channel.ts';
import type { IAgentContext, JsonValue } from '../core/plugin.ts';
import { serveAgentEvents } from './agent-events-service.ts';
import type { Blueprint } from '../design/blueprint.ts';
import { manifestSchema } from '../design/manifest-schema.ts';
import { silentLogger } from '../logging/logger.ts';
import { AgentEventsRegistry, createDaemonExecutor, withTrigger } from './daemon-executor.ts';
import { Orchestrator } from './orchestrator.ts';
import { parseRulesFile } from './rules-loader.ts';

const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

function blueprint(id: string, capabilities: string[], config: Record<string, JsonValue> = {}): Blueprint {
  const manifest = manifestSchema.parse({ id, version: '1.0.0', plugins: ['./p.js'], capabilities, config });
  return { manifest, manifestPath: `/a/${id}/agent.json`, rootDir: `/a/${id}`, files: {}, hash: id };
}

t.test('agent publish -> rule -> notify -> agent; broadcast by grant; spawn with trigger; kill by id', async (t) => {
  const registry = new AgentEventsRegistry();
  const live = new Map<string, { pid: string; ctx: IAgentContext; got: AgentEvent[]; core: AgentCore }>();
  const spawned: Blueprint[] = [];
  const outs: [string, JsonValue][] = [];
  let nextPid = 1;
  // eslint-disable-next-line prefer-const
  let orchestrator: Orchestrator;

  async function start(bp: Blueprint) {
    const pid = String(nextPid++);
    const [a, d] = inMemoryChannelPair();
    const agentSide = new ChannelEndpoint(a);
    const daemonSide = new ChannelEndpoint(d);
    daemonSide.onNote('log', () => undefined);
    registry.add(serveAgentEvents(bp, pid, daemonSide, { publish: (agentId, name, data) => void orchestrator.emit({ name, data, source: `agent:${agentId}` }), log: silentLogger }));
    const got: AgentEvent[] = [];
    let ctx: IAgentContext | undefined;
    const core = new AgentCore({ agentId: bp.manifest.id, config: bp.manifest.config as Record<string, JsonValue>, channel: agentSide, hal: {} as IHAL, plugins: [{ name: 'p', start: (c) => void (ctx = c) }] });
    await core.start();
    if (!ctx) throw new Error('no ctx');
    ctx.events.on('*', (_data, event) => void got.push(event));
    live.set(bp.manifest.id, { pid, ctx, got, core });
    const status: IAgentStatus = { pid, agentId: bp.manifest.id, template: bp.manifest.id, isolation: 'worker', state: 'running', startedAt: '', restarts: 0, cpuPercent: 0, memoryBytes: 0, tokensUsed: 0 };
    return status;
  }

  const templates: Record<string, Blueprint> = {
    'devops-agent': blueprint('devops-agent', ['events:alert/*:subscribe']),
  };
  const executor = createDaemonExecutor({
    registry,
    isLive: (id) => live.has(id),
    template: async (id) => {
      const bp = templates[id];
      if (!bp) throw new Error(`no template ${id}`);
      return bp;
    },
    spawn: async (bp) => {
      spawned.push(bp);
      return start(bp);
    },
    kill: async (id) => {
      const agent = live.get(id);
      if (!agent) throw new Error('not live');
      await agent.core.stop();
      registry.remove(agent.pid);
      live.delete(id);
      return { pid: agent.pid, agentId: id, template: id, isolation: 'worker', state: 'exited', startedAt: '', restarts: 0, cpuPercent: 0, memoryBytes: 0, tokensUsed: 0 };
    },
    publishOut: (topic, data) => void outs.push([topic, data]),
  });
  orchestrator = new Orchestrator({
    rules: parseRulesFile(
      `rules:
  - on: "alert:server_down"
    action: "spawn(devops-agent)"
  - on: "climate/too_hot"
    actions: ["notify(devops-agent)", "publish(alert/hot)"]
  - on: "shutdown"
    action: "kill(devops-agent)"
`,
      'o.yaml',
    ),
    executor,
  });

  await start(blueprint('thermostat', ['events:climate/*:publish']));

  orchestrator.emit({ name: 'alert:server_down', data: { host: 'db1' }, source: 'mqtt' });
  await orchestrator.idle();
  t.equal(spawned.length, 1);
  t.same(spawned[0]?.manifest.config.trigger, { name: 'alert:server_down', data: { host: 'db1' }, source: 'mqtt', at: (spawned[0]?.manifest.config.trigger as { at: string }).at });
  t.ok(Object.isFrozen(spawned[0]?.manifest.config), 'the blueprint stays frozen');
  const devops = live.get('devops-agent');
  t.ok(devops, 'devops-agent is live');

  await live.get('thermostat')?.ctx.events.publish('climate/too_hot', { t: 31 });
  await flush();
  t.same(
    devops?.got.map((e) => `${e.name}<-${e.source}`),
    ['climate/too_hot<-agent:thermostat', 'alert/hot<-rule:rules[1]'],
    'notified (targeted), then the published alert/hot by its subscribe grant',
  );
  t.same(live.get('thermostat')?.got, [], 'the thermostat subscribes to nothing and gets nothing');
  t.same(outs, [['alert/hot', { t: 31 }]], 'the publish action went out to the link');

  orchestrator.emit({ name: 'alert:server_down', data: { host: 'db2' }, source: 'mqtt' });
  await flush();
  t.equal(spawned.length, 1, 'running: delivered, not spawned again');
  t.equal(devops?.got.at(-1)?.name, 'alert:server_down');

  orchestrator.emit({ name: 'shutdown', source: 'cli' });
  await orchestrator.idle();
  t.notOk(live.has('devops-agent'));
  t.equal(registry.size, 1);
  t.match(orchestrator.stats().actions, { spawned: 1, killed: 1, notified: 1, published: 1, delivered: 1 });
  for (const a of live.values()) await a.core.stop();
});

t.test('withTrigger keeps the rest of the config', async (t) => {
  const bp = blueprint('x', [], { keep: 1 });
  const out = withTrigger(bp, { name: 'n', data: null, source: 's', at: 'now' });
  t.same(out.manifest.config, { keep: 1, trigger: { name: 'n', data: null, source: 's', at: 'now' } });
  t.same(bp.manifest.config, { keep: 1 }, 'the template itself is untouched');
});

t.test('a spawn that crashes at start fails the action', async (t) => {
  const executor = createDaemonExecutor({
    registry: new AgentEventsRegistry(),
    isLive: () => false,
    template: async (id) => blueprint(id, []),
    spawn: async (bp) => ({ pid: '1', agentId: bp.manifest.id, template: bp.manifest.id, isolation: 'worker', state: 'crashed', reason: 'plugin threw', startedAt: '', restarts: 0, cpuPercent: 0, memoryBytes: 0, tokensUsed: 0 }),
    kill: async () => Promise.reject(new Error('x')),
  });
  await t.rejects(executor.spawn('y', { name: 'n', data: null, source: 's', at: '' }), /y crashed at start: plugin threw/);
  t.doesNotThrow(() => executor.publish('x', 1, { name: 'n', data: null, source: 's', at: '' }), 'no link: publish is a no-op');
});
