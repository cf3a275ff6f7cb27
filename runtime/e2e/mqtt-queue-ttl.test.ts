// mqtt.queue.ttlMs through the real daemon against a real mosquitto (issue 13 "Queue TTL"): with the broker
// stopped, an agent's events are queued; time passes beyond the TTL; a second batch is queued; the broker comes
// back: the old batch expired (counted in `status` and /api/state), the fresh one is delivered, in order.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { startMosquitto } from '../../scripts/testing/mosquitto.ts';
import { recordMessages, waitFor } from '../../scripts/testing/mqtt-test-kit.ts';
import { requireTool } from '../../scripts/testing/system-deps.ts';
import type { DaemonStatus, IAgentStatus } from '../control/protocol.ts';
import { ROOT, agentFixture, startDaemon, tempDir, writeTree } from './harness.ts';

const TTL_MS = 6000;
const N = 20;

/** A template that publishes N events `{ batch, i }` on seq/item (retrying what the event rate limit refuses). */
function batchAgent(id: string): Record<string, string> {
  return agentFixture({ id, plugins: ['./main.js'], capabilities: ['events:seq/*:publish'], restart: { policy: 'never' } }, {
    'main.js': `export default {
      name: '${id}',
      async start(ctx) {
        this.run = (async () => {
          for (let i = 0; i < ${N} && !ctx.signal.aborted;) {
            try { await ctx.events.publish('seq/item', { batch: '${id}', i }); i += 1; }
            catch (e) { if (e.code !== 'ERR_EVENT_RATE_LIMITED') throw e; await new Promise((r) => setTimeout(r, 100)); }
          }
          ctx.log.info('published all');
        })();
        this.t = setInterval(() => {}, 60000);
      },
      async stop() { clearInterval(this.t); },
    };\n`,
  });
}

t.test('queued past mqtt.queue.ttlMs while the broker is down: expired and counted; the fresh ones delivered in order', async (t) => {
  if (!requireTool(t, 'mosquitto', 'mosquitto')) return;
  const dir = tempDir(t);
  const b = await startMosquitto({ dir: path.join(dir, 'broker'), persistence: true });
  t.teardown(() => b.kill());
  // A persistent-session subscriber (MQTT 3.1.1, clean: false): the broker keeps what arrives for it across its restart.
  const rec = await recordMessages(b.url, ['openstarry/dev1/out/seq/item'], { protocolVersion: 4, clean: false, clientId: 'ttl-recorder' });
  t.teardown(() => rec.close());
  const master = path.join(ROOT, 'agents', 'master');
  writeTree(path.join(dir, 'templates', 'master'), Object.fromEntries(readdirSync(master).map((f) => [f, readFileSync(path.join(master, f), 'utf8')])));
  writeTree(path.join(dir, 'templates', 'old-batch'), batchAgent('old-batch'));
  writeTree(path.join(dir, 'templates', 'fresh-batch'), batchAgent('fresh-batch'));
  const cfg = path.join(dir, 'openstarry.yaml');
  writeFileSync(cfg, ['deviceId: dev1', 'templates:', `  dir: ${path.join(dir, 'templates')}`, 'mqtt:', `  url: ${b.url}`, '  startWaitMs: 2000',
    '  reconnect: { minMs: 200, maxMs: 500 }', `  queue: { ttlMs: ${TTL_MS} }`].join('\n'));
  const d = await startDaemon(t, { dir, args: ['--config', cfg] });
  t.match((await d.json<DaemonStatus>('status')).link, { state: 'connected' });

  await b.stop();
  await d.waitFor('the link to notice', async () => (await d.json<DaemonStatus>('status')).link.state !== 'connected');
  const old = await d.json<IAgentStatus>('spawn', 'old-batch');
  await d.waitFor('the old batch queued', async () => (await d.cli('logs', old.pid)).stdout.includes('published all'));
  await new Promise((r) => setTimeout(r, TTL_MS + 500)); // the old batch outlives its TTL in the queue
  const second = await d.json<IAgentStatus>('spawn', 'fresh-batch');
  await d.waitFor('the fresh batch queued', async () => (await d.cli('logs', second.pid)).stdout.includes('published all'));

  await b.restart();
  await waitFor(() => rec.messages.length >= N, 'the fresh batch upstream', 30_000);
  await d.waitFor('the queue drained', async () => ((await d.json<DaemonStatus>('status')).link as unknown as { state: string; queue: { queued: number } }).queue.queued === 0 && (await d.json<DaemonStatus>('status')).link.state === 'connected', 30_000);
  const status = await d.json<DaemonStatus>('status');
  const queue = (status.link as unknown as { queue: { expired: number; dropped: number } }).queue;
  t.ok(queue.expired >= N, `the old batch expired (${queue.expired}, the projection's state snapshots may add to it)`);
  t.equal(queue.dropped, 0, 'nothing dropped for space');
  t.match((await d.cli('status')).stdout, new RegExp(`queue 0 \\((\\d+) expired\\)`), 'the CLI line says so');
  const listen = status.dashboard?.listen ?? '';
  const view = (await (await fetch(`http://${listen}/api/state`)).json()) as { link?: { queue?: { expired?: number } } };
  t.ok((view.link?.queue?.expired ?? 0) >= N, '/api/state carries the expired count');
  const got = rec.messages.map((m) => JSON.parse(m.payload) as { batch: string; i: number });
  t.same(got.filter((m) => m.batch === 'old-batch'), [], 'no expired message reached the broker');
  const fresh = [...new Set(got.filter((m) => m.batch === 'fresh-batch').map((m) => m.i))];
  t.same(fresh, Array.from({ length: N }, (_, i) => i), 'every fresh one, in order (at-least-once duplicates removed)');
});
