// ctx.events, agent side: publish goes out as the `events.publish` request with local checks first, `on` receives
// `events.deliver` notes by pattern, holds the channel while subscribed, and the core drops subscriptions on stop.
// Event names and patterns (event-names.ts) are tested here too.
import t from 'tap';
import { AgentCore } from './agent-core.ts';
import type { AgentEvent } from './agent-events.ts';
import { ChannelEndpoint } from './channel-endpoint.ts';
import type { LogNote } from './channel-messages.ts';
import { ErrorCode, OpenStarryError } from './errors.ts';
import { EVENT_DATA_MAX_CHARS, compileEventPattern, eventNameProblem, eventPatternProblem, serialiseEventData } from './event-names.ts';
import type { IHAL } from './hal-api.ts';
import { inMemoryChannelPair } from './in-memory-channel.ts';
import type { IAgentContext, JsonValue } from './plugin.ts';

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

const fakeHal: IHAL = {
  getSensorData: async () => 0,
  controlActuator: async () => undefined,
  getCameraStream: () => new ReadableStream(),
  watch: () => () => undefined,
  openSerial: async () => Promise.reject(new Error('no serial in this test')),
};

async function setup() {
  const [agentPort, daemonPort] = inMemoryChannelPair();
  const pendingSeen: number[] = [];
  const channel = new ChannelEndpoint(agentPort, { onPendingChange: (n) => pendingSeen.push(n) });
  const daemon = new ChannelEndpoint(daemonPort);
  const logs: LogNote[] = [];
  daemon.onNote('log', (p) => logs.push(p as LogNote));
  let ctx: IAgentContext | undefined;
  const core = new AgentCore({
    agentId: 'probe',
    config: {},
    channel,
    hal: fakeHal,
    plugins: [{ name: 'grab', start: (c) => void (ctx = c) }],
  });
  await core.start();
  if (!ctx) throw new Error('no ctx');
  return { core, ctx, daemon, channel, logs };
}

t.test('publish sends events.publish {name, data}; the daemon answer settles it', async (t) => {
  const { ctx, daemon } = await setup();
  const seen: unknown[] = [];
  daemon.handle('events.publish', (p) => {
    seen.push(p);
    const { name } = p as { name: string };
    if (name === 'secret/x') throw new OpenStarryError('ERR_CAPABILITY_DENIED', 'events:secret/x:publish not granted');
    return undefined;
  });
  await ctx.events.publish('climate/too_hot', { temperature: 31.5 });
  await ctx.events.publish('alert:server_down');
  t.same(seen, [
    { name: 'climate/too_hot', data: { temperature: 31.5 } },
    { name: 'alert:server_down', data: null },
  ]);
  await t.rejects(ctx.events.publish('secret/x', 1), { code: 'ERR_CAPABILITY_DENIED' }, 'the denial comes back typed');
});

t.test('publish refuses bad names and data before anything is sent', async (t) => {
  const { ctx, daemon } = await setup();
  let sent = 0;
  daemon.handle('events.publish', () => void (sent += 1));
  for (const bad of ['', 'a b', 'x/#', 'x/+', '/lead', 'trail/', 'a//b', 'x'.repeat(201), 'é']) {
    await t.rejects(ctx.events.publish(bad, 1), { code: ErrorCode.EVENT_INVALID }, `name ${JSON.stringify(bad).slice(0, 20)}`);
  }
  const cycle: Record<string, unknown> = {};
  cycle.self = cycle;
  await t.rejects(ctx.events.publish('x', cycle as unknown as JsonValue), { code: ErrorCode.EVENT_INVALID, message: /not plain JSON/ });
  await t.rejects(ctx.events.publish('x', 10n as unknown as JsonValue), { code: ErrorCode.EVENT_INVALID });
  await t.rejects(ctx.events.publish('x', 'y'.repeat(EVENT_DATA_MAX_CHARS)), { code: ErrorCode.EVENT_INVALID, message: /more than 65536/ });
  t.equal(sent, 0, 'nothing reached the daemon');
});

t.test('on() receives matching deliveries, each handler its own copy; unsubscribe stops it', async (t) => {
  const { ctx, daemon } = await setup();
  const got: [string, JsonValue, AgentEvent][] = [];
  const off = ctx.events.on('climate/*', (data, event) => {
    got.push(['climate', data, event]);
    (data as Record<string, JsonValue>).mutated = true;
  });
  ctx.events.on('alert:server_down', (data, event) => void got.push(['alert', data, event]));
  ctx.events.on('*', (data, event) => void got.push(['all', data, event]));
  daemon.notify('events.deliver', { name: 'climate/too_hot', data: { t: 31 }, source: 'agent:thermostat' });
  daemon.notify('events.deliver', { name: 'alert:server_down', data: null, source: 'mqtt' });
  await flush();
  t.same(got, [
    ['climate', { t: 31, mutated: true }, { name: 'climate/too_hot', data: { t: 31, mutated: true }, source: 'agent:thermostat' }],
    ['all', { t: 31 }, { name: 'climate/too_hot', data: { t: 31 }, source: 'agent:thermostat' }],
    ['alert', null, { name: 'alert:server_down', data: null, source: 'mqtt' }],
    ['all', null, { name: 'alert:server_down', data: null, source: 'mqtt' }],
  ]);
  got.length = 0;
  off();
  off();
  daemon.notify('events.deliver', { name: 'climate/ok', data: 1, source: 'cli' });
  await flush();
  t.same(got.map((g) => g[0]), ['all'], 'only the remaining subscription');
});

t.test('handler errors (sync and async) are logged, never thrown into the channel', async (t) => {
  const { ctx, daemon, logs } = await setup();
  const after: string[] = [];
  ctx.events.on('x', () => {
    throw new Error('boom');
  });
  ctx.events.on('x', async () => Promise.reject(new Error('async boom')));
  ctx.events.on('x', () => void after.push('ran'));
  daemon.notify('events.deliver', { name: 'x', data: 1, source: 'cli' });
  daemon.notify('events.deliver', { nope: true });
  await flush();
  await flush();
  t.same(after, ['ran'], 'a throwing handler does not stop the next one');
  t.ok(logs.some((l) => l.level === 'error' && /event handler for x failed: boom/.test(l.message)));
  t.ok(logs.some((l) => l.level === 'error' && /async boom/.test(l.message)));
  t.ok(logs.some((l) => l.level === 'warn' && /malformed events.deliver/.test(l.message)));
});

t.test('on() checks its pattern; a subscription holds the channel until unsubscribed or the core stops', async (t) => {
  const { core, ctx, channel } = await setup();
  t.throws(() => ctx.events.on('a b', () => undefined), { code: ErrorCode.EVENT_INVALID });
  t.throws(() => ctx.events.on('x', 'nope' as unknown as () => void), { code: ErrorCode.EVENT_INVALID });
  t.equal(channel.pending, 0);
  const off = ctx.events.on('a', () => undefined);
  ctx.events.on('b', () => undefined);
  t.equal(channel.pending, 2, 'each subscription holds the channel');
  off();
  t.equal(channel.pending, 1);
  await core.stop();
  t.equal(channel.pending, 0, 'stop releases the rest');
  t.equal(typeof ctx.events.on('c', () => undefined), 'function', 'on() after stop is a harmless no-op');
  t.equal(channel.pending, 0);
});

t.test('event names and patterns', async (t) => {
  for (const ok of ['alert:server_down', 'git:commit_pushed', 'climate/too_hot', 'gpio:pir:rising', 'sensor:env0.temperature', 'agent:code-reviewer-agent:exited', 'a']) {
    t.equal(eventNameProblem(ok), undefined, ok);
  }
  t.match(eventNameProblem(42), /non-empty string/);
  t.match(eventPatternProblem('a/**/b x'), /not an event pattern/);
  t.equal(eventPatternProblem('agent:*:crashed'), undefined);
  const m = (p: string, n: string, anySeparator = false) => compileEventPattern(p, { anySeparator })(n);
  t.ok(m('*', 'anything:at/all'));
  t.ok(m('git:commit_pushed', 'git:commit_pushed'));
  t.notOk(m('git:commit_pushed', 'git/commit_pushed'), 'separators are literal in rules');
  t.ok(m('git/commit_pushed', 'git:commit_pushed', true), '... and interchangeable in grants');
  t.ok(m('climate/*', 'climate/too_hot'));
  t.ok(m('climate/*', 'climate/a/b'), 'a final * covers deeper levels');
  t.notOk(m('climate/*', 'climate'), 'at least one level');
  t.notOk(m('climate/*', 'climatex/a'));
  t.ok(m('agent:*:crashed', 'agent:devops-agent:crashed'));
  t.notOk(m('agent:*:crashed', 'agent:a:b:crashed'), 'an inner * stays inside one level');
  t.ok(m('sensor:env0.*', 'sensor:env0.temperature'));
  t.notOk(m('sensor:env0.*', 'sensor:env01temperature'), '"." is literal');
  t.ok(m('alert/*', 'alert:server_down', true));
  t.same(serialiseEventData(undefined), { text: 'null' });
  t.match(serialiseEventData(() => 1), { error: /function/ });
});
