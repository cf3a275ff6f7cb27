// The MQTT link and the orchestrator through the real daemon, against a real mosquitto started here (issue 5):
// remote triggers with the specification's rules, remote commands, bad payloads, the retained status and last
// will, and 1,000 QoS 1 events published while the broker is down — across a daemon restart — delivered in order.
import { execFile } from 'node:child_process';
import net from 'node:net';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import type { Test } from 'tap';
import { startMosquitto } from '../../scripts/testing/mosquitto.ts';
import type { Mosquitto } from '../../scripts/testing/mosquitto.ts';
import { recordMessages, waitFor } from '../../scripts/testing/mqtt-test-kit.ts';
import { requireTool } from '../../scripts/testing/system-deps.ts';
import type { DaemonStatus, IAgentStatus } from '../control/protocol.ts';
import { ROOT, agentFixture, startDaemon, tempDir, writeTree } from './harness.ts';

const run = promisify(execFile);
const pub = (broker: Mosquitto, topic: string, message: string | null) =>
  run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(broker.port), '-q', '1', '-t', topic, ...(message === null ? ['-n'] : ['-m', message])]);

const RULES = `rules:
  - on: "git:commit_pushed"
    if: "branch == 'main'"
    action: "spawn(code-reviewer-agent)"
  - on: "alert:server_down"
    action: "spawn(devops-agent)"
`;

function config(dir: string, broker: Mosquitto, extra = ''): string {
  writeFileSync(path.join(dir, 'rules.yaml'), RULES);
  const file = path.join(dir, 'openstarry.yaml');
  writeFileSync(file, [
    'deviceId: dev1',
    'templates:',
    `  dir: ${path.join(dir, 'templates')}`,
    'orchestration:',
    '  rules: ./rules.yaml',
    '  projectionInterval: 1s',
    'mqtt:',
    `  url: ${broker.url}`,
    '  startWaitMs: 500',
    '  maxIncomingBytes: 2048',
    '  reconnect: { minMs: 200, maxMs: 1000 }',
    '  commands: [status, listAgents, spawnAgent]',
    extra,
  ].join('\n'));
  return file;
}

function templates(dir: string): void {
  // The shipped master and the specification's example agents, plus an agent that publishes numbered events.
  for (const id of ['master', 'code-reviewer-agent', 'devops-agent']) writeTree(path.join(dir, 'templates', id), readTree(path.join(ROOT, 'agents', id)));
  writeTree(path.join(dir, 'templates', 'counter'), agentFixture({ id: 'counter', plugins: ['./main.js'], capabilities: ['events:seq/*:publish'], restart: { policy: 'never' } }, {
    'main.js': `export default {
      name: 'counter',
      async start(ctx) {
        const n = ctx.config.count ?? 1000;
        let i = ctx.state.get()?.next ?? 0;
        // Paced by the daemon's per-agent event rate limit: back off and retry what it refused.
        this.run = (async () => {
          while (i < n && !ctx.signal.aborted) {
            try { await ctx.events.publish('seq/item', { i }); i += 1; if (i % 50 === 0) ctx.state.set({ next: i }); }
            catch (e) { if (e.code !== 'ERR_EVENT_RATE_LIMITED') throw e; await new Promise((r) => setTimeout(r, 100)); }
          }
          ctx.state.set({ next: i });
          ctx.log.info('published ' + i);
        })();
        this.t = setInterval(() => {}, 60000);
      },
      async stop() { clearInterval(this.t); },
    };\n`,
  }));
}

function readTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir)) if (statSync(path.join(dir, name)).isFile()) out[name] = readFileSync(path.join(dir, name), 'utf8');
  return out;
}

async function broker(t: Test, dir: string, persistence = false): Promise<Mosquitto | undefined> {
  if (!requireTool(t, 'mosquitto', 'mosquitto') || !requireTool(t, 'mosquitto_pub', 'mosquitto-clients')) return undefined;
  const b = await startMosquitto({ dir, persistence });
  t.teardown(() => b.kill());
  return b;
}

t.test('remote triggers with the specification rules, remote commands, bad payloads, retained status', async (t) => {
  const dir = tempDir(t);
  const b = await broker(t, path.join(dir, 'broker'));
  if (!b) return;
  templates(dir);
  const d = await startDaemon(t, { dir, args: ['--config', config(dir, b)] });
  const status = await d.json<DaemonStatus>('status');
  t.match(status.link, { state: 'connected', url: b.url, topicPrefix: 'openstarry/dev1/' });
  t.match(status.phases.find((p) => p.name === 'rules'), { state: 'done', detail: /2 rule\(s\)/ });

  const watcher = await recordMessages(b.url, ['openstarry/dev1/status', 'openstarry/dev1/out/#', 'openstarry/dev1/state/#', 'openstarry/dev1/state', 'openstarry/dev1/telemetry', 'replies/#'], { protocolVersion: 5 });
  t.teardown(() => watcher.close());
  await waitFor(() => watcher.messages.some((m) => m.topic === 'openstarry/dev1/status' && m.retain && JSON.parse(m.payload).online === true), 'the retained birth');

  // The condition false: nothing is spawned.
  await pub(b, 'openstarry/dev1/event/git:commit_pushed', JSON.stringify({ branch: 'dev', sha: 'aaa' }));
  await d.waitFor('the event to be seen', async () => ((await d.json<DaemonStatus>('status')).orchestration?.mqttEvents as { accepted: number }).accepted >= 1);
  t.notOk((await d.json<IAgentStatus[]>('ps')).some((a) => a.agentId === 'code-reviewer-agent'), "branch 'dev' does not match");
  // The condition true: the reviewer is spawned with the event, and publishes its result upstream.
  await pub(b, 'openstarry/dev1/event/git:commit_pushed', JSON.stringify({ branch: 'main', sha: 'bbb', files: ['package.json'] }));
  await d.waitFor('the reviewer to be spawned', async () => (await d.json<IAgentStatus[]>('ps')).some((a) => a.agentId === 'code-reviewer-agent'));
  await waitFor(() => watcher.messages.some((m) => m.topic === 'openstarry/dev1/out/review/completed'), 'review/completed upstream', 15_000);
  // To every device, with no payload at all.
  await pub(b, 'openstarry/all/event/alert:server_down', null);
  await d.waitFor('the devops agent to be spawned', async () => (await d.json<IAgentStatus[]>('ps')).some((a) => a.agentId === 'devops-agent' && a.state === 'running'));

  // The state projection: the global view and each agent's snapshot retained upstream, resource use as telemetry,
  // and the same view as JSON on the dashboard address.
  await waitFor(() => watcher.messages.some((m) => m.topic === 'openstarry/dev1/state/devops-agent'), 'state/devops-agent', 15_000);
  const late = await recordMessages(b.url, ['openstarry/dev1/state/#']);
  await waitFor(() => late.messages.some((m) => m.topic === 'openstarry/dev1/state/devops-agent' && m.retain), 'state/devops-agent retained for a late subscriber');
  await late.close();
  await waitFor(() => watcher.messages.some((m) => m.topic === 'openstarry/dev1/telemetry'), 'telemetry', 15_000);
  const global = watcher.messages.filter((m) => m.topic === 'openstarry/dev1/state').at(-1);
  t.match(JSON.parse(global?.payload ?? '{}'), { deviceId: 'dev1', agents: { master: { state: 'running' } } });
  const listen = (await d.json<DaemonStatus>('status')).dashboard?.listen ?? '';
  const view = (await (await fetch(`http://${listen}/api/state`)).json()) as { agents: Record<string, unknown> };
  t.ok('devops-agent' in view.agents, 'the dashboard serves the same view');

  // Remote commands: an allowed one answered on the MQTT 5 response topic, the rest refused with a reason.
  const ask = (method: string, body: unknown, corr: string) =>
    watcher.client.publishAsync(`openstarry/dev1/cmd/${method}`, JSON.stringify(body), { qos: 1, properties: { responseTopic: `replies/${corr}`, correlationData: Buffer.from(corr) } });
  const answer = async (corr: string) => {
    await waitFor(() => watcher.messages.some((m) => m.topic === `replies/${corr}`), `the answer ${corr}`);
    return JSON.parse(watcher.messages.find((m) => m.topic === `replies/${corr}`)?.payload ?? '{}') as { result?: unknown; error?: { message: string; data?: { code: string } } };
  };
  await ask('listAgents', {}, 'c1');
  t.ok(((await answer('c1')).result as IAgentStatus[]).some((a) => a.agentId === 'master'), 'listAgents answered');
  await ask('killAgent', { params: ['1'] }, 'c2');
  t.match((await answer('c2')).error, { message: /not allowed on this device/ }, 'a method the config does not allow');
  await ask('spawnAgent', { params: ['/etc/evil/agent.json'] }, 'c3');
  t.match((await answer('c3')).error, { message: /template id/ }, 'never a path from the network');
  await ask('spawnAgent', { params: ['code-reviewer-agent', { isolation: 'worker' }], extra: 1 }, 'c4');
  t.match((await answer('c4')).error, { message: /unknown key "extra"/ });
  await ask('spawnAgent', { params: ['devops-agent', { isolation: 'worker' }] }, 'c5');
  t.match((await answer('c5')).error, { message: /runs the template's own isolation/ }, 'the network cannot move an agent into the daemon');
  // An answer aimed back into openstarry/ (event injection with the device's own credentials) is not sent.
  const before = ((await d.json<DaemonStatus>('status')).orchestration?.mqttCommands as { refused: number }).refused;
  await watcher.client.publishAsync('openstarry/dev1/cmd/status', '{}', { qos: 1, properties: { responseTopic: 'openstarry/all/event/alert:server_down' } });
  await d.waitFor('the response topic refused', async () => ((await d.json<DaemonStatus>('status')).orchestration?.mqttCommands as { refused: number }).refused >= before + 1);

  // Malformed and oversized events: dropped, counted, the daemon carries on.
  await pub(b, 'openstarry/dev1/event/x', '{not json');
  await pub(b, 'openstarry/dev1/event/x', JSON.stringify({ blob: 'x'.repeat(4096) }));
  await pub(b, 'openstarry/dev1/event/bad name with spaces', '{}');
  await d.waitFor('the drops to be counted', async () => {
    const s = await d.json<DaemonStatus>('status');
    const events = s.orchestration?.mqttEvents as { malformed: number; refused: number };
    return events.malformed >= 1 && (s.link as unknown as { droppedIncoming: number }).droppedIncoming >= 1;
  });
  const after = await d.json<DaemonStatus>('status');
  t.equal(after.state, 'ready', 'the daemon is fine');
  t.match(d.log(), /payload is not JSON, dropped/);
});

t.test('retained events and commands are never acted on (they would fire again at every reconnect)', async (t) => {
  const dir = tempDir(t);
  const b = await broker(t, path.join(dir, 'broker'));
  if (!b) return;
  templates(dir);
  await run('mosquitto_pub', ['-p', String(b.port), '-r', '-q', '1', '-t', 'openstarry/dev1/event/alert:server_down', '-m', '{}']);
  await run('mosquitto_pub', ['-p', String(b.port), '-r', '-q', '1', '-t', 'openstarry/dev1/cmd/status', '-m', '{"id":"x"}']);
  const d = await startDaemon(t, { dir, args: ['--config', config(dir, b)] });
  await d.waitFor('both retained messages refused', async () => {
    const o = (await d.json<DaemonStatus>('status')).orchestration as { mqttEvents: { refused: number }; mqttCommands: { refused: number } } | undefined;
    return (o?.mqttEvents.refused ?? 0) >= 1 && (o?.mqttCommands.refused ?? 0) >= 1;
  });
  t.notOk((await d.json<IAgentStatus[]>('ps')).some((a) => a.agentId === 'devops-agent'), 'the retained alert spawned nothing');
  t.match(d.log(), /retained event ignored/);
});

t.test('last will after SIGKILL; 1,000 events published with the broker down survive a daemon restart, in order', async (t) => {
  const dir = tempDir(t);
  const b = await broker(t, path.join(dir, 'broker'), true);
  if (!b) return;
  templates(dir);
  const cfg = config(dir, b);
  // A persistent-session subscriber: the broker keeps what arrives for it while it is away.
  const rec = await recordMessages(b.url, ['openstarry/dev1/out/seq/item'], { protocolVersion: 4, clean: false, clientId: 'e2e-recorder' });
  t.teardown(() => rec.close());

  let d = await startDaemon(t, { dir, args: ['--config', cfg] });
  d.child.kill('SIGKILL');
  await d.exited;
  const lwt = await recordMessages(b.url, ['openstarry/dev1/status']);
  await waitFor(() => lwt.messages.some((m) => m.retain && JSON.parse(m.payload).online === false), 'the retained last will', 15_000);
  await lwt.close();

  await b.stop();
  d = await startDaemon(t, { dir, args: ['--config', cfg] });
  t.match((await d.json<DaemonStatus>('status')).link, { state: 'offline' }, 'boots without its broker');
  const s = await d.json<IAgentStatus>('spawn', 'counter');
  await d.waitFor('1,000 events published', async () => (await d.cli('logs', s.pid)).stdout.includes('published 1000'), 90_000);
  const queued = (await d.json<DaemonStatus>('status')).link as unknown as { queue: { queued: number; dropped: number } };
  t.ok(queued.queue.queued >= 1000, `all queued while offline (${queued.queue.queued})`);
  t.equal(queued.queue.dropped, 0);
  d.child.kill('SIGTERM');
  t.equal(await d.exited, 0);

  await b.restart();
  d = await startDaemon(t, { dir, args: ['--config', cfg] });
  await waitFor(() => new Set(rec.messages.map((m) => m.payload)).size >= 1000, 'all 1,000 events upstream', 60_000);
  const seen: number[] = [];
  const unique = new Set<string>();
  for (const m of rec.messages) {
    if (unique.has(m.payload)) continue;
    unique.add(m.payload);
    seen.push((JSON.parse(m.payload) as { i: number }).i);
  }
  t.same(seen, Array.from({ length: 1000 }, (_, i) => i), 'every event, in order (duplicates from at-least-once removed)');
  await d.waitFor('the queue drained', async () => ((await d.json<DaemonStatus>('status')).link as unknown as { queue: { queued: number } }).queue.queued === 0);
});

t.test('the embedded broker\'s port taken by another program: the board runs without MQTT and says why', async (t) => {
  const holder = net.createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => holder.close(() => resolve())));
  const port = (holder.address() as net.AddressInfo).port;
  const d = await startDaemon(t, { env: { OPENSTARRY_EMBEDDED_BROKER: `127.0.0.1:${port}` } });
  const status = await d.json<DaemonStatus>('status');
  t.equal(status.state, 'ready');
  t.ok(status.degraded.includes('embedded-broker-port-in-use'));
  t.match(status.link, { state: 'absent', lastError: /taken by another program; set mqtt.url/, broker: { state: 'port-in-use', port } });
});
