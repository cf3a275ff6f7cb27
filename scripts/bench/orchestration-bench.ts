/**
 * Event-to-action latency (issue 5, targets of issue 12): a boundary event published to a real mosquitto -> the
 * daemon's link -> the orchestrator's rule -> spawn -> the agent's start(), which reports the time back as an event.
 * Measured per trigger (the agent ends itself after reporting, so each trigger is a fresh spawn, not a delivery), on a
 * quiet daemon (SETTLE_MS after the previous agent ended), p50/p99, beside the bare MQTT round trip through the same
 * broker (publish -> a subscriber on the same machine, the same client). Two daemons: the default config
 * (`agents.warmSpares: auto`, which keeps one worker booted because these rules spawn: runtime/daemon/spare-policy.ts)
 * and `agents.warmSpares: 0`, every spawn starting a worker thread cold. A cold spawn cannot go under a
 * bare worker thread's first message: the `spawn` rows of run.ts measure that in the same run.
 *
 * Clocks: every time is `performance.timeOrigin + performance.now()` — wall-clock milliseconds with sub-millisecond
 * resolution in the bench, the daemon and the agent's worker alike (Date.now() counts whole milliseconds, so a
 * sub-millisecond round trip read 0.00 ms). The bench's client turns Nagle's algorithm off (`setNoDelay`): mqtt.js
 * leaves it on, and its publish, written while the PUBACK it had just sent was still unacknowledged, waited for the
 * broker's delayed ACK — 20-30 ms on every trigger that were the bench client's, not the daemon's.
 * Standalone: `npm run build && node --import tsx scripts/bench/orchestration-bench.ts`.
 */
import { cp, mkdir, rm, writeFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { ControlClient } from '../../runtime/control/control-client.ts';
import { startMosquitto } from '../testing/mosquitto.ts';
import { hasTool } from '../testing/system-deps.ts';
import { DAEMON, DAEMON_NODE_FLAGS, daemonEnv, fmt, print, ROOT, rows } from './bench-table.ts';
import { percentile, sleep, startUntil, stop } from './measure.ts';

const TARGET = `export default {
  name: 'bench-target',
  async start(ctx) { await ctx.events.publish('bench/started', { t: performance.timeOrigin + performance.now() }); },
};\n`;

/** Pause after the previous agent ended, so each trigger meets a quiet daemon (and a refilled warm spare). */
const SETTLE_MS = 150;
const TARGET_P50_MS = 40;
const TARGET_P99_MS = 60;

const now = (): number => performance.timeOrigin + performance.now();

interface TriggerRun {
  /** publish -> start(), ms, per trigger. */
  latency: number[];
  /** publish -> the same client's subscription delivers it, ms (measured on the cold run only). */
  echo: number[];
}

/** One daemon (warm: the default config, auto -> one spare; cold: agents.warmSpares 0), `triggers` timed triggers after one warm-up. */
async function runTriggers(dir: string, brokerUrl: string, triggers: number, warm: boolean): Promise<TriggerRun> {
  const config = path.join(dir, warm ? 'openstarry-warm.yaml' : 'openstarry.yaml');
  await writeFile(config, `deviceId: bench\n${warm ? '' : 'agents:\n  warmSpares: 0\n'}templates:\n  dir: ./templates\norchestration:\n  rules: ./rules.yaml\nmqtt:\n  url: ${brokerUrl}\n`);
  const home = path.join(dir, warm ? 'home-warm' : 'home');
  const daemon = await startUntil(process.execPath, [...DAEMON_NODE_FLAGS, DAEMON, '--config', config], await daemonEnv(home), / ready in \d+ ms/);
  const client = await mqtt.connectAsync(brokerUrl, { protocolVersion: 5 });
  (client.stream as Socket).setNoDelay(true);
  const control = await ControlClient.connect(path.join(home, 'openstarryd.sock'));
  try {
    const started: number[] = [];
    const echoed: number[] = [];
    client.on('message', (topic, payload) => {
      if (topic === 'bench/echo') echoed.push(now());
      else if (topic.endsWith('/out/bench/started')) started.push((JSON.parse(payload.toString()) as { t: number }).t);
    });
    await client.subscribeAsync(['openstarry/bench/out/bench/started', 'bench/echo'], { qos: 1 });
    const waitFor = async (list: number[], count: number): Promise<number> => {
      const end = Date.now() + 15_000;
      while (list.length < count) {
        if (Date.now() > end) throw new Error('no answer within 15 s');
        await sleep(1);
      }
      return list[count - 1] as number;
    };
    const quiet = async (): Promise<void> => {
      for (;;) {
        const live = (await control.call('listAgents')).some((a) => a.agentId === 'bench-target' && ['starting', 'running', 'stopping'].includes(a.state));
        if (!live) break;
        await sleep(5);
      }
      await sleep(SETTLE_MS);
    };
    const latency: number[] = [];
    for (let i = 0; i <= triggers; i++) {
      await quiet();
      const t0 = now();
      await client.publishAsync('openstarry/bench/event/bench:go', JSON.stringify({ i }), { qos: 1 });
      const t1 = await waitFor(started, i + 1);
      if (i > 0) latency.push(t1 - t0); // the first spawn warms the template cache
    }
    const echo: number[] = [];
    if (!warm) {
      for (let i = 0; i < triggers; i++) {
        await sleep(20);
        const t0 = now();
        await client.publishAsync('bench/echo', 'x', { qos: 1 });
        echo.push((await waitFor(echoed, i + 1)) - t0);
      }
    }
    return { latency, echo };
  } finally {
    control.close();
    await client.endAsync(true);
    await stop(daemon.child);
  }
}

export async function benchEventToAction(work: string, triggers = Number(process.env.BENCH_TRIGGERS ?? 20)): Promise<void> {
  if (!hasTool('mosquitto')) {
    rows.push({ metric: 'event -> action (mqtt -> agent start)', ours: 'skipped: mosquitto not installed', base: '-', ratio: '-', target: '-', met: '-' });
    return;
  }
  const dir = path.join(work, 'orchestration');
  await mkdir(path.join(dir, 'broker'), { recursive: true });
  const broker = await startMosquitto({ dir: path.join(dir, 'broker') });
  try {
    const templates = path.join(dir, 'templates');
    await cp(path.join(ROOT, 'agents', 'master'), path.join(templates, 'master'), { recursive: true });
    await mkdir(path.join(templates, 'bench-target'), { recursive: true });
    await writeFile(path.join(templates, 'bench-target', 'agent.json'), JSON.stringify({ id: 'bench-target', version: '1.0.0', plugins: ['./main.js'], capabilities: ['events:bench/*:publish'], restart: { policy: 'never' } }));
    await writeFile(path.join(templates, 'bench-target', 'main.js'), TARGET);
    await writeFile(path.join(dir, 'rules.yaml'), 'rules:\n  - on: "bench:go"\n    action: "spawn(bench-target)"\n');
    const cold = await runTriggers(dir, broker.url, triggers, false);
    const warm = await runTriggers(dir, broker.url, triggers, true);

    const echo50 = percentile(cold.echo, 50);
    const base = `bare MQTT round trip ${fmt(echo50, 'ms')} (${fmt(percentile(cold.echo, 99), 'ms')})`;
    const row = (label: string, latency: number[]): void => {
      const p50 = percentile(latency, 50);
      const p99 = percentile(latency, 99);
      rows.push({
        metric: `event -> action: mqtt publish -> rule -> spawn -> start(), ${label} (${triggers} triggers) p50 (p99)`,
        ours: `${fmt(p50, 'ms')} (${fmt(p99, 'ms')})`,
        base,
        ratio: `${(p50 / echo50).toFixed(0)}x`,
        target: `<= ${TARGET_P50_MS} ms (${TARGET_P99_MS} ms)`,
        met: p50 <= TARGET_P50_MS && p99 <= TARGET_P99_MS ? 'yes' : 'NO',
      });
    };
    row('default config (warmSpares: auto -> 1 spare)', warm.latency);
    row('warmSpares: 0, a cold worker each time', cold.latency);
  } finally {
    await broker.kill();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const work = path.join(tmpdir(), `openstarry-orchestration-bench-${process.pid}`);
  try {
    await benchEventToAction(work);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  print();
}
