// A real mosquitto SIGKILLed and restarted while an agent publishes 300 QoS 1 events (issue 13 "What held"): a
// persistent-session subscriber receives every one of them, exactly once (matched on the sequence number each
// payload carries). SIGKILL, not SIGTERM: the broker saves nothing on the way down and forgets whatever it held in
// memory, as it would after a power cut or the OOM killer; the daemon's outbound queue is what carries the events.
import { copyFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { startMosquitto } from '../../scripts/testing/mosquitto.ts';
import { recordMessages, waitFor } from '../../scripts/testing/mqtt-test-kit.ts';
import { requireTool } from '../../scripts/testing/system-deps.ts';
import type { DaemonStatus, IAgentStatus } from '../control/protocol.ts';
import { ROOT, agentFixture, startDaemon, tempDir, writeTree } from './harness.ts';

const EVENTS = 300;

/** Publishes `seq/item {i}` for i = 0..EVENTS-1, one every 20 ms, backing off when the daemon's rate limit refuses. */
const publisher = `export default {
  name: 'publisher',
  start(ctx) {
    this.run = (async () => {
      for (let i = 0; i < ${EVENTS} && !ctx.signal.aborted; ) {
        try { await ctx.events.publish('seq/item', { i }); i += 1; await new Promise((r) => setTimeout(r, 20)); }
        catch (e) { if (e.code !== 'ERR_EVENT_RATE_LIMITED') throw e; await new Promise((r) => setTimeout(r, 100)); }
      }
      ctx.log.info('published ${EVENTS}');
    })();
    this.t = setInterval(() => {}, 60000);
  },
  stop() { clearInterval(this.t); },
};\n`;

type LinkStatus = { state: string; queue: { queued: number; dropped: number } };

t.test(`mosquitto SIGKILLed twice (once hung first) while an agent publishes ${EVENTS} QoS 1 events: all delivered, none twice`, async (t) => {
  if (!requireTool(t, 'mosquitto', 'mosquitto')) return;
  const dir = tempDir(t);
  const b = await startMosquitto({ dir: path.join(dir, 'broker'), persistence: true });
  t.teardown(() => b.kill());
  const master = path.join(ROOT, 'agents', 'master');
  writeTree(path.join(dir, 'templates', 'master'), {});
  for (const f of readdirSync(master)) copyFileSync(path.join(master, f), path.join(dir, 'templates', 'master', f));
  writeTree(path.join(dir, 'templates', 'publisher'), agentFixture({ id: 'publisher', plugins: ['./main.js'], capabilities: ['events:seq/*:publish'], restart: { policy: 'never' } }, { 'main.js': publisher }));
  const config = path.join(dir, 'openstarry.yaml');
  writeFileSync(config, ['deviceId: held1', 'templates:', `  dir: ${path.join(dir, 'templates')}`, 'mqtt:', `  url: ${b.url}`, '  startWaitMs: 2000', '  reconnect: { minMs: 200, maxMs: 1000 }', 'dashboard: false', ''].join('\n'));

  // A persistent-session subscriber, saved in the broker's database by a clean restart: a SIGKILLed mosquitto comes
  // back with its last save, so the session (and with it the subscription) outlives the kills.
  const rec = await recordMessages(b.url, ['openstarry/held1/out/seq/item'], { protocolVersion: 4, clean: false, clientId: 'e2e-held-subscriber' });
  t.teardown(() => rec.close());
  await b.restart();

  const d = await startDaemon(t, { dir, args: ['--config', config] });
  await d.waitFor('the link to connect', async () => (await d.json<DaemonStatus>('status')).link.state === 'connected');
  const s = await d.json<IAgentStatus>('spawn', 'publisher');
  const seen = () => new Set(rec.messages.map((m) => (JSON.parse(m.payload) as { i: number }).i));
  const kills: number[] = [];
  for (let k = 0; k < 2; k++) {
    // A random moment while the events flow (~6 s in all), then a second or so with no broker at all.
    const at = 300 + Math.floor(Math.random() * 1500);
    await new Promise((r) => setTimeout(r, at));
    kills.push(seen().size);
    if (k === 1) {
      // The second time the broker hangs first (SIGSTOP) and is then killed, as a watchdog would: the daemon has a
      // full window of PUBLISHes in flight that the broker read into its socket buffer and never acknowledged, and
      // must send them again after the reconnect (a plain kill on loopback rarely catches one in flight).
      process.kill(b.pid as number, 'SIGSTOP');
      await new Promise((r) => setTimeout(r, 500));
    }
    await b.kill();
    await new Promise((r) => setTimeout(r, 800 + Math.floor(Math.random() * 700)));
    await b.restart();
  }
  t.ok(kills.every((n) => n < EVENTS), `both kills landed while events were still flowing (after ${kills.join(' and ')} had arrived)`);
  await d.waitFor(`${EVENTS} events published`, async () => (await d.cli('logs', s.pid)).stdout.includes(`published ${EVENTS}`), 60_000);
  await waitFor(() => seen().size >= EVENTS, `all ${EVENTS} events at the subscriber`, 60_000).catch(() => undefined);
  const got = seen();
  const missing = Array.from({ length: EVENTS }, (_, i) => i).filter((i) => !got.has(i));
  t.same(missing, [], `every sequence number delivered (${got.size} of ${EVENTS})${missing.length > 0 ? `; broker log:\n${b.log()}` : ''}`);
  t.equal(rec.messages.length, got.size, `none delivered twice (${rec.messages.length} messages for ${got.size} sequence numbers)`);
  await d.waitFor('the queue drained', async () => ((await d.json<DaemonStatus>('status')).link as unknown as LinkStatus).queue.queued === 0);
  const link = (await d.json<DaemonStatus>('status')).link as unknown as LinkStatus;
  t.match(link, { state: 'connected', queue: { dropped: 0 } }, 'connected again, nothing dropped');
});
