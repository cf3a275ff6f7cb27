/**
 * Event-to-action latency (issue 5): a boundary event published to a real mosquitto -> the daemon's link -> the
 * orchestrator's rule -> spawn -> the agent's start(), which reports Date.now() back as an event. Measured per
 * trigger (the agent ends itself after reporting, so each trigger is a fresh spawn, not a delivery), p50/p99, beside
 * the bare MQTT round trip through the same broker (publish -> a subscriber on the same machine).
 * Standalone: `npm run build && node --import tsx scripts/bench/orchestration-bench.ts`.
 */
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { ControlClient } from '../../runtime/control/control-client.ts';
import { startMosquitto } from '../testing/mosquitto.ts';
import { hasTool } from '../testing/system-deps.ts';
import { DAEMON, daemonEnv, fmt, print, ROOT, rows } from './bench-table.ts';
import { percentile, sleep, startUntil, stop } from './measure.ts';

const TARGET = `export default {
  name: 'bench-target',
  async start(ctx) { await ctx.events.publish('bench/started', { t: Date.now() }); },
};\n`;

export async function benchEventToAction(work: string, triggers = Number(process.env.BENCH_TRIGGERS ?? 20)): Promise<void> {
  if (!hasTool('mosquitto')) {
    rows.push({ metric: 'event -> action (mqtt -> agent start)', ours: 'skipped: mosquitto not installed', base: '-', ratio: '-', target: '-', met: '-' });
    return;
  }
  const dir = path.join(work, 'orchestration');
  await mkdir(path.join(dir, 'broker'), { recursive: true });
  const broker = await startMosquitto({ dir: path.join(dir, 'broker') });
  const templates = path.join(dir, 'templates');
  await cp(path.join(ROOT, 'agents', 'master'), path.join(templates, 'master'), { recursive: true });
  await mkdir(path.join(templates, 'bench-target'), { recursive: true });
  await writeFile(path.join(templates, 'bench-target', 'agent.json'), JSON.stringify({ id: 'bench-target', version: '1.0.0', plugins: ['./main.js'], capabilities: ['events:bench/*:publish'], restart: { policy: 'never' } }));
  await writeFile(path.join(templates, 'bench-target', 'main.js'), TARGET);
  await writeFile(path.join(dir, 'rules.yaml'), 'rules:\n  - on: "bench:go"\n    action: "spawn(bench-target)"\n');
  await writeFile(path.join(dir, 'openstarry.yaml'), `deviceId: bench\ntemplates:\n  dir: ./templates\norchestration:\n  rules: ./rules.yaml\nmqtt:\n  url: ${broker.url}\n`);
  const home = path.join(dir, 'home');
  const daemon = await startUntil(process.execPath, [DAEMON, '--config', path.join(dir, 'openstarry.yaml')], await daemonEnv(home), / ready in \d+ ms/);
  const client = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
  const control = await ControlClient.connect(path.join(home, 'openstarryd.sock'));
  try {
    const started: number[] = [];
    client.on('message', (topic, payload) => {
      if (topic.endsWith('/out/bench/started')) started.push((JSON.parse(payload.toString()) as { t: number }).t);
      if (topic === 'bench/echo') started.push(Date.now());
    });
    await client.subscribeAsync(['openstarry/bench/out/bench/started', 'bench/echo'], { qos: 1 });
    const waitNext = async (count: number): Promise<void> => {
      const end = Date.now() + 15_000;
      while (started.length < count) {
        if (Date.now() > end) throw new Error('no answer within 15 s');
        await sleep(1);
      }
    };
    const idle = async (): Promise<void> => {
      for (;;) {
        const live = (await control.call('listAgents')).some((a) => a.agentId === 'bench-target' && ['starting', 'running', 'stopping'].includes(a.state));
        if (!live) return;
        await sleep(5);
      }
    };
    const latency: number[] = [];
    for (let i = 0; i <= triggers; i++) {
      await idle();
      const t0 = Date.now();
      await client.publishAsync('openstarry/bench/event/bench:go', JSON.stringify({ i }), { qos: 1 });
      await waitNext(i + 1);
      if (i > 0) latency.push((started[i] ?? Number.NaN) - t0); // the first spawn warms the template cache
    }
    const echo: number[] = [];
    const base = started.length;
    for (let i = 0; i < triggers; i++) {
      const t0 = Date.now();
      await client.publishAsync('bench/echo', 'x', { qos: 1 });
      await waitNext(base + i + 1);
      echo.push((started[base + i] ?? Number.NaN) - t0);
    }
    rows.push({
      metric: `event -> action: mqtt publish -> rule -> spawn -> start() (${triggers} triggers) p50 (p99)`,
      ours: `${fmt(percentile(latency, 50), 'ms')} (${fmt(percentile(latency, 99), 'ms')})`,
      base: `bare MQTT round trip ${fmt(percentile(echo, 50), 'ms')}`,
      ratio: '-',
      target: '-',
      met: '-',
    });
  } finally {
    control.close();
    await client.endAsync(true);
    await stop(daemon.child);
    await broker.kill();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await benchEventToAction(path.join(tmpdir(), `openstarry-orchestration-bench-${process.pid}`));
  print();
}
