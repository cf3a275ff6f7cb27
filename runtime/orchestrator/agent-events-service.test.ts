// The daemon's side of ctx.events: every publish checked against events:<pattern>:publish, validated again and
// rate limited; deliver() only with a subscribe grant or when targeted. Real AgentCore on the isolate end of an
// in-memory channel, so the round trip is the one a worker makes.
import t from 'tap';
import { AgentCore } from '../core/agent-core.ts';
import { ChannelEndpoint } from '../core/channel-endpoint.ts';
import { ErrorCode } from '../core/errors.ts';
import type { IHAL } from '../core/hal-api.ts';
import { inMemoryChannelPair } from '../core/in-memory-channel.ts';
import type { IAgentContext, JsonValue } from '../core/plugin.ts';
import type { Blueprint } from '../design/blueprint.ts';
import { manifestSchema } from '../design/manifest-schema.ts';
import { createLogger } from '../logging/logger.ts';
import { ManualClock } from '../manual-clock.ts';
import { serveAgentEvents } from './agent-events-service.ts';

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
const fakeHal = {} as IHAL;

function blueprint(id: string, capabilities: string[]): Blueprint {
  const manifest = manifestSchema.parse({ id, version: '1.0.0', plugins: ['./p.js'], capabilities });
  return { manifest, manifestPath: `/agents/${id}/agent.json`, rootDir: `/agents/${id}`, files: {}, hash: 'x' };
}

async function setup(capabilities: string[], options: { perSecond?: number; burst?: number } = {}) {
  const [agentPort, daemonPort] = inMemoryChannelPair();
  const agentSide = new ChannelEndpoint(agentPort);
  const daemonSide = new ChannelEndpoint(daemonPort);
  daemonSide.onNote('log', () => undefined);
  const lines: string[] = [];
  const log = createLogger('events', { write: (l) => void lines.push(l) });
  const published: [string, string, JsonValue][] = [];
  const clock = new ManualClock();
  const handle = serveAgentEvents(blueprint('thermostat', capabilities), '7', daemonSide, {
    publish: (agentId, name, data) => void published.push([agentId, name, data]),
    log,
    clock,
    ...options,
  });
  let ctx: IAgentContext | undefined;
  const core = new AgentCore({ agentId: 'thermostat', config: {}, channel: agentSide, hal: fakeHal, plugins: [{ name: 'p', start: (c) => void (ctx = c) }] });
  await core.start();
  if (!ctx) throw new Error('no ctx');
  return { ctx, handle, published, lines, clock, daemonSide, core };
}

t.test('publish within the grant reaches deps.publish; outside it is ERR_CAPABILITY_DENIED, logged and counted', async (t) => {
  const { ctx, handle, published, lines } = await setup(['events:climate/*:publish', 'events:alert/*:publish']);
  await ctx.events.publish('climate/too_hot', { t: 31 });
  await ctx.events.publish('alert:server_down', null);
  await t.rejects(ctx.events.publish('door/open', 1), { code: 'ERR_CAPABILITY_DENIED', message: /events:<pattern>:publish covering "door\/open"/ });
  await t.rejects(ctx.events.publish('climate', 1), { code: 'ERR_CAPABILITY_DENIED' }, 'climate/* needs a level below climate');
  t.same(published, [
    ['thermostat', 'climate/too_hot', { t: 31 }],
    ['thermostat', 'alert:server_down', null],
  ]);
  t.match(handle.counters(), { published: 2, denied: 2 });
  t.equal(lines.filter((l) => /denied: agent thermostat \(pid 7\) events.publish\(door\/open\)/.test(l)).length, 1);
});

t.test('an agent without events grants can publish nothing', async (t) => {
  const { ctx, published } = await setup(['agents:*:list', 'events:x/*:subscribe']);
  await t.rejects(ctx.events.publish('x/y', 1), { code: 'ERR_CAPABILITY_DENIED' }, 'subscribe does not imply publish');
  t.same(published, []);
});

t.test('the daemon validates again: a raw request with a bad name or oversized data is ERR_EVENT_INVALID', async (t) => {
  const [a, b] = inMemoryChannelPair();
  const raw = new ChannelEndpoint(a);
  const daemonSide = new ChannelEndpoint(b);
  const published: unknown[] = [];
  const handle = serveAgentEvents(blueprint('x', ['events:*:publish']), '1', daemonSide, { publish: (...args) => void published.push(args), log: createLogger('t', { write: () => undefined }) });
  await t.rejects(raw.request('events.publish', { name: 'a/#', data: 1 }), { code: ErrorCode.EVENT_INVALID });
  await t.rejects(raw.request('events.publish', { name: 'a b' }), { code: ErrorCode.EVENT_INVALID });
  await t.rejects(raw.request('events.publish', 'junk'), { code: ErrorCode.EVENT_INVALID });
  await t.rejects(raw.request('events.publish', { name: 'big', data: 'x'.repeat(70_000) }), { code: ErrorCode.EVENT_INVALID, message: /more than 65536/ });
  await raw.request('events.publish', { name: 'ok' });
  t.same(published, [['x', 'ok', null]], 'absent data is null');
  t.match(handle.counters(), { invalid: 4, published: 1 });
});

t.test('publications beyond the per-agent rate are ERR_EVENT_RATE_LIMITED until tokens refill', async (t) => {
  const { ctx, published, clock, lines, handle } = await setup(['events:*:publish'], { perSecond: 2, burst: 3 });
  for (let i = 0; i < 3; i++) await ctx.events.publish('tick', i);
  await t.rejects(ctx.events.publish('tick', 3), { code: ErrorCode.EVENT_RATE_LIMITED });
  await t.rejects(ctx.events.publish('tick', 4), { code: ErrorCode.EVENT_RATE_LIMITED });
  t.equal(lines.filter((l) => /faster than 2\/s/.test(l)).length, 1, 'warned once per burst of refusals');
  clock.stall(500);
  await ctx.events.publish('tick', 5);
  t.same(published.map((p) => p[2]), [0, 1, 2, 5]);
  t.equal(handle.counters().rateLimited, 2);
});

t.test('deliver: only with a covering subscribe grant or targeted; never an echo of its own publication', async (t) => {
  const { ctx, handle } = await setup(['events:alert/*:subscribe', 'events:climate/*:publish']);
  const got: string[] = [];
  ctx.events.on('*', (_d, e) => void got.push(`${e.name}<-${e.source}`));
  t.ok(handle.subscribes('alert:server_down'));
  t.notOk(handle.subscribes('git:commit_pushed'));
  t.equal(handle.deliver('alert:server_down', { host: 'db1' }, 'mqtt'), true);
  t.equal(handle.deliver('git:commit_pushed', { branch: 'main' }, 'mqtt'), false, 'not granted');
  t.equal(handle.deliver('git:commit_pushed', { branch: 'main' }, 'rule:0', { targeted: true }), true, 'addressed by a rule');
  t.equal(handle.deliver('alert/x', null, 'agent:thermostat'), false, 'its own publication does not come back');
  await flush();
  t.same(got, ['alert:server_down<-mqtt', 'git:commit_pushed<-rule:0']);
  t.equal(handle.counters().delivered, 2);
});
