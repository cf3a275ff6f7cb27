// The page's feed on a manual clock: nothing runs while no page is open; while one is, a snapshot every pushMs and
// every sensor sample; "last events" from the changes between snapshots (agent states, rule fires, link, health),
// bounded.
import t from 'tap';
import type http from 'node:http';
import { PassThrough } from 'node:stream';
import { ManualClock } from '../manual-clock.ts';
import type { IAgentStatus } from '../supervisor/agent-status.ts';
import type { DashboardDaemon } from './dashboard-feed.ts';
import { DashboardFeed, MAX_EVENTS } from './dashboard-feed.ts';
import { SseHub } from './dashboard-stream.ts';

const settle = () => new Promise((r) => setImmediate(r));

/** A response-like sink: what the hub writes, as text. */
function client() {
  const socket = new PassThrough();
  let text = '';
  const res = Object.assign(new PassThrough(), {
    writeHead: () => res,
    destroyed: false,
  }) as unknown as http.ServerResponse & PassThrough;
  res.on('data', (c: Buffer) => (text += c.toString()));
  const req = { socket: Object.assign(socket, { setNoDelay: () => undefined, setTimeout: () => undefined }) } as unknown as http.IncomingMessage;
  return { req, res, text: () => text };
}

function setup() {
  const clock = new ManualClock();
  const agents: IAgentStatus[] = [{ pid: '1', agentId: 'master', template: 'master', isolation: 'worker', state: 'running', startedAt: '', restarts: 0, cpuPercent: 0, memoryBytes: 0, tokensUsed: 0 }];
  const status = { link: { state: 'connected' }, degraded: [] as string[] };
  const rules = { perRule: [{ label: 'fan-on', fired: 0 }] };
  const listeners = new Set<(s: { deviceId: string; values: Record<string, number>; at: number }) => void>();
  const daemon: DashboardDaemon = {
    status: () => status,
    agents: () => agents,
    devices: () => {
      throw new Error('ERR_NOT_READY');
    },
    templates: () => [],
    spawn: () => Promise.reject(new Error('no')),
    kill: () => Promise.reject(new Error('no')),
    control: () => Promise.reject(new Error('no')),
    samples: () => ({ history: () => ({}), onSample: (fn) => (listeners.add(fn), () => void listeners.delete(fn)), stats: () => ({}) }),
  };
  const hub = new SseHub({ clock });
  const feed = new DashboardFeed({ daemon, rules: () => rules, hub, clock, pushMs: 1000, canAct: () => false });
  return { clock, hub, feed, agents, status, rules, listeners };
}

t.test('idle without a page; with one: snapshots every pushMs and samples; none after it left', async (t) => {
  const { clock, hub, feed, listeners } = setup();
  t.equal(clock.pending, 0, 'no timer without a page');
  const c = client();
  t.ok(hub.accept(c.req, c.res));
  hub.send(c.res, await feed.firstFrame());
  t.match(c.text(), /event: snapshot\ndata: \{.*"devices":\[\].*"history":\{\}/, 'a part that is not ready is left empty');
  t.ok(clock.pending >= 1);
  clock.advance(1000);
  await settle();
  t.equal(listeners.size, 1, 'the sampler is subscribed while a page is open');
  for (const l of listeners) l({ deviceId: 'env0', values: { temperature: 21 }, at: clock.now() });
  t.match(c.text(), /event: sample\ndata: \{"deviceId":"env0","values":\{"temperature":21\}/);
  t.equal(c.text().match(/event: snapshot/g)?.length, 2, 'the first snapshot, then one per pushMs');
  clock.advance(15_000);
  t.match(c.text(), /\n: heartbeat\n\n/, 'a heartbeat comment keeps proxies from closing an idle stream');
  c.res.emit('close');
  t.equal(hub.size, 0);
  t.equal(listeners.size, 0, 'unsubscribed when the last page left');
  t.equal(clock.pending, 0, 'no timer after the last page left');
  feed.close();
});

t.test('last events: agent state changes, rule fires, link and health changes, actions; bounded', async (t) => {
  const { feed, agents, status, rules } = setup();
  await feed.snapshot();
  agents[0]!.state = 'crashed';
  agents[0]!.reason = 'uncaught: boom';
  agents.push({ ...agents[0]!, pid: '2', agentId: 'hello', state: 'running' });
  rules.perRule[0]!.fired = 3;
  status.link.state = 'offline';
  status.degraded = ['docker-unavailable'];
  feed.note('action', 'spawned hello');
  const snap = await feed.snapshot();
  const texts = (snap.events as { text: string }[]).map((e) => e.text);
  t.same(texts.sort(), ['MQTT link offline', 'degraded: docker-unavailable', 'hello (2) running', 'master (1) running -> crashed: uncaught: boom', 'rule fan-on fired 3 times', 'spawned hello'].sort());
  for (let i = 0; i < MAX_EVENTS * 2; i += 1) feed.note('action', `a${i}`);
  t.equal(((await feed.snapshot()).events as unknown[]).length, MAX_EVENTS, 'bounded');
  feed.close();
});
