// The example templates for orchestration (code-reviewer-agent, devops-agent, motion-camera), each run through a
// real AgentCore on an in-memory channel with the daemon's serveAgentEvents on the other end, so their capabilities
// are checked as in the daemon. The HAL is a fake with a PIR watch and a camera stream.
import { readFile } from 'node:fs/promises';
import t from 'tap';
import { AgentCore } from '../runtime/core/agent-core.ts';
import { ChannelEndpoint } from '../runtime/core/channel-endpoint.ts';
import type { HalInputEdge, IHAL } from '../runtime/core/hal-api.ts';
import { inMemoryChannelPair } from '../runtime/core/in-memory-channel.ts';
import type { IPlugin, JsonValue } from '../runtime/core/plugin.ts';
import type { AgentEventsHandle } from '../runtime/orchestrator/agent-events-service.ts';
import { serveAgentEvents } from '../runtime/orchestrator/agent-events-service.ts';
import { parseManifest } from '../runtime/design/blueprint.ts';
import { silentLogger } from '../runtime/logging/logger.ts';
import { base64, fnv1a } from './motion-camera/motion.js';
import { review } from './code-reviewer-agent/review.js';

const flush = async () => {
  for (let i = 0; i < 10; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

async function run(id: string, plugin: string, options: { trigger?: JsonValue; hal?: Partial<IHAL>; state?: JsonValue; config?: Record<string, JsonValue> } = {}) {
  const manifest = parseManifest(await readFile(new URL(`./${id}/agent.json`, import.meta.url), 'utf8'), `${id}/agent.json`);
  const mod = (await import(`./${id}/${plugin}`)) as { default: IPlugin };
  const [a, d] = inMemoryChannelPair();
  const agentSide = new ChannelEndpoint(a);
  const daemonSide = new ChannelEndpoint(d);
  const logs: string[] = [];
  const saved: JsonValue[] = [];
  daemonSide.onNote('log', (p) => void logs.push((p as { message: string }).message));
  daemonSide.onNote('state.save', (p) => void saved.push(p as JsonValue));
  const published: [string, JsonValue][] = [];
  const blueprint = { manifest, manifestPath: '', rootDir: '', files: {}, hash: '' };
  const events: AgentEventsHandle = serveAgentEvents(blueprint, '1', daemonSide, { publish: (_id, name, data) => void published.push([name, data]), log: silentLogger });
  const config = { ...manifest.config, ...options.config, ...(options.trigger === undefined ? {} : { trigger: options.trigger }) };
  const hal = { ...(options.hal ?? {}) } as IHAL;
  const core = new AgentCore({ agentId: id, config: config as Record<string, JsonValue>, plugins: [mod.default], channel: agentSide, hal, ...(options.state === undefined ? {} : { initialState: options.state }) });
  await core.start();
  return { core, channel: agentSide, events, published, logs, saved };
}

const trigger = (name: string, data: JsonValue, source = 'mqtt') => ({ name, data, source, at: '2026-11-21T10:00:00.000Z' });

t.test('code-reviewer-agent reviews its trigger, then what arrives while it lingers; stop clears the linger', async (t) => {
  const a = await run('code-reviewer-agent', 'review.js', { config: { lingerMs: 600_000 }, trigger: trigger('git:commit_pushed', { branch: 'main', sha: 'abc123', author: 'ana', files: ['src/a.ts', 'package-lock.json'], message: 'bump deps for the camera driver' }) });
  a.events.deliver('git:commit_pushed', { branch: 'main', sha: 'def456', files: ['README.md'], message: 'docs' }, 'rule:rules[0]', { targeted: true });
  await flush();
  t.same(a.published.map(([n, d]) => [n, (d as { sha: string; verdict: string }).sha, (d as { verdict: string }).verdict]), [
    ['review/completed', 'abc123', 'needs-attention'],
    ['review/completed', 'def456', 'needs-attention'],
  ]);
  t.match(a.saved.at(-1), { reviews: 2, last: { sha: 'def456', notes: ['commit message is shorter than 10 characters'] } });
  t.ok(a.logs.some((l) => /reviewing abc123 on main by ana/.test(l)));
  t.equal(a.channel.pending, 1, 'listening while it lingers');
  await a.core.stop();
  t.equal(a.channel.pending, 0);
  t.same(review({ files: Array.from({ length: 60 }, (_, i) => `f${i}`), message: 'a long enough message' }, { maxFiles: 50, watchPaths: [] }).notes, ['60 files changed (more than 50): split the commit']);
});

t.test('code-reviewer-agent with lingerMs 0 ends as soon as its work is done; without a trigger at once', async (t) => {
  const a = await run('code-reviewer-agent', 'review.js', { config: { lingerMs: 0 }, trigger: trigger('git:commit_pushed', { sha: 'x', message: 'a fine message here' }) });
  await flush();
  t.equal(a.published.length, 1);
  t.equal(a.channel.pending, 0, 'nothing holds the isolate: it ends on its own');
  t.ok(a.logs.some((l) => /no more commits to review; exiting/.test(l)));
  await a.core.stop();
  const b = await run('code-reviewer-agent', 'review.js');
  await flush();
  t.ok(b.logs.some((l) => /spawned without a trigger event/.test(l)));
  t.equal(b.channel.pending, 0);
  await b.core.stop();
});

t.test('devops-agent opens incidents for its trigger and every alert it is sent, and keeps serving', async (t) => {
  const a = await run('devops-agent', 'incidents.js', { trigger: trigger('alert:server_down', { host: 'db1' }), state: { seq: 4, open: [] } });
  await flush();
  t.ok(a.events.subscribes('alert:disk_full'), 'its grant covers alert:*');
  t.equal(a.events.deliver('alert:disk_full', { host: 'nas' }, 'mqtt'), true);
  t.equal(a.events.deliver('climate/too_hot', { value: 31 }, 'rule:too-hot', { targeted: true }), true);
  t.equal(a.events.deliver('git:commit_pushed', {}, 'mqtt'), false, 'not its business');
  await flush();
  t.same(a.published.map(([n, d]) => [n, (d as { id: string }).id, (d as { what: string }).what, (d as { host: string | null }).host]), [
    ['devops/incident_opened', 'inc-5', 'server_down', 'db1'],
    ['devops/incident_opened', 'inc-6', 'disk_full', 'nas'],
    ['devops/incident_opened', 'inc-7', 'climate/too_hot', null],
  ]);
  t.match(a.saved.at(-1), { seq: 7, open: [{ id: 'inc-5' }, { id: 'inc-6' }, { id: 'inc-7', severity: 'info' }] });
  t.equal(a.channel.pending, 1, 'its subscription keeps it running');
  await a.core.stop();
  t.equal(a.channel.pending, 0);
});

t.test('motion-camera: a rising PIR edge -> one frame -> motion/snapshot (inline when small, else a reference)', async (t) => {
  let listener: ((e: HalInputEdge) => void) | undefined;
  let streams = 0;
  let cancelled = 0;
  let frameSize = 1000;
  const hal: Partial<IHAL> = {
    watch: (id, l) => {
      t.equal(id, 'pir');
      listener = l;
      return () => (listener = undefined);
    },
    getCameraStream: (id) => {
      t.equal(id, 'cam0');
      streams += 1;
      const size = frameSize;
      return new ReadableStream<Uint8Array>({
        pull: (c) => c.enqueue(new Uint8Array(size).fill(7)),
        cancel: () => void (cancelled += 1),
      });
    },
  };
  const a = await run('motion-camera', 'motion.js', { trigger: trigger('gpio:pir:rising', { device: 'pir', edge: 'rising', value: 1 }, 'gpio'), hal });
  await flush();
  t.equal(a.published.length, 1, 'the trigger edge is handled at start');
  const first = a.published[0]?.[1] as Record<string, unknown>;
  t.match(first, { seq: 1, camera: 'cam0', size: 1000, cause: 'gpio:pir:rising', hash: fnv1a(new Uint8Array(1000).fill(7)) });
  t.equal(first.jpegBase64, base64(new Uint8Array(1000).fill(7)));
  t.equal(cancelled, 1, 'the stream is cancelled after one frame');

  listener?.({ edge: 'rising', value: 1, at: 1 });
  await flush();
  t.equal(a.published.length, 1, 'within minIntervalMs: skipped');
  listener?.({ edge: 'falling', value: 0, at: 2 });
  await flush();
  t.equal(streams, 1, 'falling edges are ignored');
  await a.core.stop();
  t.equal(listener, undefined, 'stop unwatches');

  frameSize = 40_000;
  const b = await run('motion-camera', 'motion.js', { hal: { ...hal, watch: (_id, l) => ((listener = l), () => undefined) } });
  listener?.({ edge: 'rising', value: 1, at: 3 });
  await flush();
  const big = b.published[0]?.[1] as Record<string, unknown>;
  t.match(big, { size: 40_000, reference: /^cam0\/1\/[0-9a-f]{8}$/ });
  t.notOk('jpegBase64' in big, 'a large frame is not inlined');
  t.ok(JSON.stringify(big).length < 64 * 1024);
  await b.core.stop();
});

t.test('base64 matches the standard encoding', async (t) => {
  for (const text of ['', 'f', 'fo', 'foo', 'foob', 'fooba', 'foobar']) t.equal(base64(new TextEncoder().encode(text)), btoa(text), JSON.stringify(text));
});
