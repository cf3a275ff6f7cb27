// startOrchestration as the daemon would call it, with a fake supervisor, HAL and link: rules from a file, sources
// started, agent publications going to the rules and to out/<name>, lifecycle events, projection publishing, the
// dashboard sources, and a clean close (no timers left). A bad rules file fails with ERR_RULES_INVALID.
import path from 'node:path';
import t from 'tap';
import type { IAgentStatus } from '../supervisor/agent-status.ts';
import { AgentCore } from '../core/agent-core.ts';
import { ChannelEndpoint } from '../core/channel-endpoint.ts';
import { ErrorCode } from '../core/errors.ts';
import type { HalInputEdge, IHAL } from '../core/hal-api.ts';
import { inMemoryChannelPair } from '../core/in-memory-channel.ts';
import type { IAgentContext, JsonValue } from '../core/plugin.ts';
import type { Blueprint } from '../design/blueprint.ts';
import { manifestSchema } from '../design/manifest-schema.ts';
import { silentLogger } from '../logging/logger.ts';
import { ManualClock } from '../manual-clock.ts';
import { orchestrationConfigSchema } from './config.ts';
import { startOrchestration } from './orchestration-service.ts';
import { loadRulesFile } from './rules-loader.ts';

const flush = async () => {
  for (let i = 0; i < 10; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

function blueprint(id: string, capabilities: string[]): Blueprint {
  return { manifest: manifestSchema.parse({ id, version: '1.0.0', plugins: ['./p.js'], capabilities }), manifestPath: '', rootDir: '', files: {}, hash: id };
}
const statusOf = (pid: string, agentId: string, state: IAgentStatus['state'] = 'running'): IAgentStatus => ({ pid, agentId, template: agentId, isolation: 'worker', state, startedAt: '', restarts: 0, cpuPercent: 1, memoryBytes: 10, tokensUsed: 0 });

t.test('wired like the daemon: rules, sources, events services, projection, link, close', async (t) => {
  const dir = t.testdir({
    'orchestration.yaml': `
rules:
  - on: "gpio:pir:rising"
    action: "spawn(motion-camera)"
  - on: "climate/*"
    action: "publish(alert/climate)"
  - on: "agent:motion-camera:started"
    action: "publish(camera/up)"
`,
  });
  const clock = new ManualClock();
  const agents: IAgentStatus[] = [];
  const spawned: string[] = [];
  const linkMessages: string[] = [];
  let pir: ((e: HalInputEdge) => void) | undefined;
  const o = await startOrchestration({
    deviceId: 'pi-1',
    config: orchestrationConfigSchema().parse({ rules: 'orchestration.yaml', projectionInterval: '5s' }),
    rulesPath: path.join(dir, 'orchestration.yaml'),
    log: silentLogger,
    clock,
    agents: {
      isLive: (id) => agents.some((a) => a.agentId === id && a.state === 'running'),
      spawn: async (bp) => {
        spawned.push(`${bp.manifest.id}:${(bp.manifest.config.trigger as { name: string }).name}`);
        const s = statusOf(String(agents.length + 1), bp.manifest.id);
        agents.push(s);
        return s;
      },
      kill: async () => Promise.reject(new Error('unused')),
      list: () => agents,
      template: async (id) => blueprint(id, []),
    },
    snapshot: async (pid) => ({ pid }),
    hal: {
      watch: (id, l) => {
        t.equal(id, 'pir');
        pir = l;
        return () => (pir = undefined);
      },
    },
    link: {
      publish: (topic, payload, { retain }) => void linkMessages.push(`${topic}${retain ? ' (retained)' : ''}${topic.startsWith('out/') ? ` ${JSON.stringify(payload)}` : ''}`),
      clearRetained: (topic) => void linkMessages.push(`${topic} (cleared)`),
    },
  });
  t.equal(o.rules.rules.length, 3);
  t.ok(pir, 'the PIR the rules name is watched');

  // A GPIO edge spawns the camera agent with the edge as its trigger; its start is a lifecycle event.
  pir?.({ edge: 'rising', value: 1, at: 0 });
  await o.orchestrator.idle();
  t.same(spawned, ['motion-camera:gpio:pir:rising']);
  o.onAgentChange(statusOf('1', 'motion-camera'));
  t.ok(linkMessages.some((m) => m.startsWith('out/camera/up ')), 'agent:motion-camera:started fired its rule');

  // An agent publishes through ctx.events: the daemon checks the grant, the rules see it, the link carries it out.
  const [a, d] = inMemoryChannelPair();
  const agentSide = new ChannelEndpoint(a);
  const daemonSide = new ChannelEndpoint(d);
  daemonSide.onNote('log', () => undefined);
  o.serveAgent(blueprint('thermostat', ['events:climate/*:publish']), '9', daemonSide);
  let ctx: IAgentContext | undefined;
  const core = new AgentCore({ agentId: 'thermostat', config: {}, channel: agentSide, hal: {} as IHAL, plugins: [{ name: 'p', start: (c) => void (ctx = c) }] });
  await core.start();
  await ctx?.events.publish('climate/too_hot', { t: 31 } as JsonValue);
  t.ok(linkMessages.includes('out/climate/too_hot {"t":31}'), 'the publication goes out');
  t.ok(linkMessages.includes('out/alert/climate {"t":31}'), 'and through the rule');
  await t.rejects(ctx?.events.publish('door/open', 1) ?? Promise.resolve(), { code: 'ERR_CAPABILITY_DENIED' });
  o.detachAgent('9');
  t.equal(o.registry.size, 0);
  await core.stop();

  // The projection ran at start and runs every 5 s.
  await flush();
  clock.advance(5000);
  await flush();
  t.ok(o.projection.ticks >= 2);
  t.ok(linkMessages.includes('state (retained)') && linkMessages.includes('state/motion-camera (retained)') && linkMessages.includes('telemetry'));
  const dash = o.dashboardSources();
  t.match(dash.state(), { deviceId: 'pi-1', agents: { 'motion-camera': { snapshot: { pid: '1' } } } });
  t.match(dash.rules(), { rules: 3, actions: { spawned: 1 } });
  t.equal(dash.agents(), agents);
  t.match(o.stats(), { eventsSeen: 5 }, 'gpio edge, agent started, camera/up, climate/too_hot, alert/climate');
  t.match(o.emit({ name: 'alert:x', source: 'cli' }), { accepted: true });

  await o.close();
  await o.close();
  t.equal(pir, undefined, 'the watch is released');
  t.equal(clock.pending, 0, 'no timer left');
  t.match(o.emit({ name: 'alert:x', source: 'cli' }), { accepted: false, reason: 'closed' });
});

t.test('no rules file: an empty rule set; a bad one: ERR_RULES_INVALID naming the problem', async (t) => {
  const dir = t.testdir({ 'bad.yaml': 'rules:\n  - on: a\n    if: "nope("\n    action: spawn(x)\n' });
  const deps = {
    deviceId: 'pi',
    config: orchestrationConfigSchema().parse({}),
    log: silentLogger,
    clock: new ManualClock(),
    agents: { isLive: () => false, spawn: async () => statusOf('1', 'x'), kill: async () => statusOf('1', 'x'), list: () => [], template: async (id: string) => blueprint(id, []) },
    snapshot: async () => ({}),
  };
  const o = await startOrchestration(deps);
  t.match(o.stats(), { rules: 0, rulesFile: '(no rules file)' });
  await o.close();
  t.equal(deps.clock.pending, 0);
  await t.rejects(startOrchestration({ ...deps, rulesPath: path.join(dir, 'bad.yaml') }), { code: ErrorCode.RULES_INVALID, message: /bad\.yaml: rules\[0\]\.if: syntax error/ });
});

t.test('replaceRules (a reload): the new rules and their sources take over; agents are not announced again', async (t) => {
  const dir = t.testdir({
    'old.yaml': 'timers:\n  - { name: tick, every: 1s }\nrules:\n  - on: "timer:tick"\n    action: "publish(old/tick)"\n  - on: "gpio:pir:rising"\n    action: "publish(old/pir)"\n',
    'new.yaml': 'timers:\n  - { name: tock, every: 5s }\nrules:\n  - on: "timer:tock"\n    action: "publish(new/tock)"\n  - on: "agent:*:started"\n    action: "publish(new/started)"\n',
  });
  const clock = new ManualClock();
  const out: string[] = [];
  let watching = 0;
  const o = await startOrchestration({
    deviceId: 'pi',
    config: orchestrationConfigSchema().parse({}),
    rulesPath: path.join(dir, 'old.yaml'),
    log: silentLogger,
    clock,
    agents: { isLive: () => false, spawn: async () => statusOf('1', 'x'), kill: async () => statusOf('1', 'x'), list: () => [], template: async (id) => blueprint(id, []) },
    snapshot: async () => ({}),
    hal: {
      watch: () => {
        watching++;
        return () => void watching--;
      },
    },
    link: { publish: (topic) => void out.push(topic), clearRetained: () => undefined },
  });
  t.teardown(() => o.close());
  o.onAgentChange(statusOf('7', 'thermostat'));
  clock.advance(1000);
  await o.orchestrator.idle();
  t.ok(out.includes('out/old/tick'));
  t.equal(watching, 1, 'the old rules watch the PIR');

  o.replaceRules(await loadRulesFile(path.join(dir, 'new.yaml')));
  t.equal(o.rules.file, path.join(dir, 'new.yaml'));
  t.equal(o.stats().rules, 2);
  t.equal(watching, 0, 'the old GPIO watch is released');
  out.length = 0;
  o.onAgentChange(statusOf('7', 'thermostat')); // the same state again: not a transition
  clock.advance(5000);
  await o.orchestrator.idle();
  t.same(out.filter((m) => m.startsWith('out/')), ['out/new/tock'], 'only the new timer fires; the old one is stopped; no second "started"');
  o.onAgentChange(statusOf('8', 'fan-guard'));
  await o.orchestrator.idle();
  t.ok(out.includes('out/new/started'), 'a real transition after the reload reaches the new rules');
  await o.close();
  t.equal(clock.pending, 0, 'no timer left from either rule set');
  o.replaceRules(await loadRulesFile(path.join(dir, 'old.yaml')));
  t.equal(clock.pending, 0, 'after close a replace starts nothing');
});
