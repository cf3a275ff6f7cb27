/**
 * `npm run soak -- --minutes N`: a long run of the built daemon (dist/, what a board runs) under a steady load, to
 * find leaks and loss that no unit test sees (issue 13, "A soak run"). Not in CI and not in the tap suite.
 *
 *   - the daemon in a temporary home on the sim board, its upstream broker a real mosquitto on a free loopback port
 *     (scripts/testing/mosquitto.ts; persistence on, so a SIGTERM keeps sessions);
 *   - 10 worker agents (scripts/soak/template/) each reading a sensor through the HAL at 10 Hz and publishing every
 *     reading as the event soak/reading, QoS 1 upstream (`out/soak/reading`), numbered per agent boot;
 *   - a rule on those events (every 50th reading: publish soak/fired), so the rules engine runs all the time;
 *   - the control socket polled with `status` every second, each poll on a fresh connection as the CLI makes it;
 *   - mosquitto restarted every minute (SIGTERM, then started on the same port), every 5th time with SIGKILL;
 *   - a subscriber with a persistent session (clean: false, QoS 1) counting each boot's sequence numbers.
 *
 * Every minute and at the end it prints the daemon's RSS (and the sum over its process tree), its open fds, QoS 1
 * published (the agents' own count) vs delivered (unique at the subscriber) vs duplicates, agent restarts, rule
 * fires and the status latency p50/p99. At the end the agents are told to stop (event soak/stop), the queue is
 * left to drain, the summary is written as JSON (--out) and the exit code is 1 when soak-verdict.ts finds loss, RSS
 * growth over 5 % after warm-up, or fd growth.
 *
 *   npm run soak -- --minutes 30 [--out soak-results.json] [--warmup 3] [--agents 10] [--hz 10] [--kill-every 5]
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ControlClient } from '../../runtime/control/control-client.ts';
import type { DaemonStatus, IAgentStatus } from '../../runtime/control/protocol.ts';
import { DAEMON, DAEMON_NODE_FLAGS, ROOT, daemonEnv } from '../bench/bench-table.ts';
import { percentile, sleep, stop } from '../bench/measure.ts';
import { startMosquitto } from '../testing/mosquitto.ts';
import type { Mosquitto } from '../testing/mosquitto.ts';
import { hasTool } from '../testing/system-deps.ts';
import { countingSubscriber } from './counting-subscriber.ts';
import type { CountingSubscriber } from './counting-subscriber.ts';
import { sampleProcess } from './proc-sample.ts';
import type { Sample, StreamCount, Verdict } from './soak-verdict.ts';
import { judge, mib } from './soak-verdict.ts';

const USAGE = 'npm run soak -- --minutes N [--out FILE] [--warmup MIN] [--agents N] [--hz N] [--kill-every N]';
const DEVICE = 'soak';
const PREFIX = `openstarry/${DEVICE}/`;
/** The sim board's sensors the agents take turns on: the BME280 over the sim I²C bus, the GPS over serial. */
const SENSORS = ['env0.temperature', 'gps0.latitude', 'env0.humidity', 'gps0.longitude', 'env0.pressure'];

interface Options { minutes: number; out: string; warmup: number; agents: number; hz: number; killEvery: number }

function options(argv: string[]): Options {
  const { values } = parseArgs({ args: argv, options: { minutes: { type: 'string' }, out: { type: 'string' }, warmup: { type: 'string' }, agents: { type: 'string' }, hz: { type: 'string' }, 'kill-every': { type: 'string' } } });
  const num = (v: string | undefined, name: string, fallback?: number): number => {
    const n = v === undefined ? fallback : Number(v);
    if (n === undefined || !Number.isFinite(n) || n <= 0) throw new Error(`--${name}: a positive number is needed\n${USAGE}`);
    return n;
  };
  return { minutes: Math.round(num(values.minutes, 'minutes')), out: path.resolve(values.out ?? 'soak-results.json'), warmup: num(values.warmup, 'warmup', 3), agents: num(values.agents, 'agents', 10), hz: num(values.hz, 'hz', 10), killEvery: num(values['kill-every'], 'kill-every', 5) };
}

async function writeFixtures(work: string, o: Options, brokerUrl: string): Promise<string> {
  const templates = path.join(work, 'templates');
  // The shipped master (the board's first agent, as on a board) beside the soak agents.
  await cp(path.join(ROOT, 'agents', 'master'), path.join(templates, 'master'), { recursive: true });
  const source = path.join(ROOT, 'scripts', 'soak', 'template');
  const manifest = JSON.parse(await readFile(path.join(source, 'agent.json'), 'utf8')) as Record<string, unknown> & { config: Record<string, unknown> };
  for (let i = 0; i < o.agents; i++) {
    const id = `soak-sensor-${i}`;
    await cp(source, path.join(templates, id), { recursive: true });
    await writeFile(path.join(templates, id, 'agent.json'), JSON.stringify({ ...manifest, id, config: { ...manifest.config, sensor: SENSORS[i % SENSORS.length], hz: o.hz } }, null, 2));
  }
  // Every 50th reading of each agent (`mark`) fires the rule: 10 agents at 10 Hz give 2 fires a second.
  await writeFile(path.join(work, 'rules.yaml'), 'rules:\n  - name: soak-mark\n    on: "soak/reading"\n    if: "mark == true"\n    action: "publish(soak/fired)"\n');
  const config = path.join(work, 'openstarry.yaml');
  await writeFile(config, [
    `deviceId: ${DEVICE}`,
    'board: sim',
    'templates:',
    `  dir: ${templates}`,
    'orchestration:',
    '  rules: ./rules.yaml',
    'mqtt:',
    `  url: ${brokerUrl}`,
    '  reconnect: { minMs: 200, maxMs: 2000 }',
    '',
  ].join('\n'));
  return config;
}

async function startDaemon(work: string, config: string): Promise<{ child: ChildProcess; socket: string; logFile: string }> {
  const home = path.join(work, 'home');
  const env = await daemonEnv(home);
  const logFile = path.join(work, 'daemon.log');
  // Its output to a file, as journald would take it: a pipe the run forgets to read would stall the daemon.
  const fd = openSync(logFile, 'a');
  // SOAK_NODE_FLAGS: extra Node/V8 flags for a diagnosis (e.g. --expose-gc, which the agents then use before each report).
  const extra = (process.env.SOAK_NODE_FLAGS ?? '').split(' ').filter((f) => f !== '');
  const child = spawn(process.execPath, [...DAEMON_NODE_FLAGS, ...extra, DAEMON, '--config', config], { env, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const end = Date.now() + 60_000;
  while (!/ ready in \d+ ms/.test(readFileSync(logFile, 'utf8'))) {
    if (child.exitCode !== null || Date.now() > end) throw new Error(`the daemon did not get ready:\n${readFileSync(logFile, 'utf8')}`);
    await sleep(100);
  }
  return { child, socket: path.join(home, 'openstarryd.sock'), logFile };
}

/** One `status` call on a fresh connection, as `openstarry status` makes it; its time includes the connect. */
async function pollStatus(socket: string): Promise<{ ms: number; status?: DaemonStatus; error?: string }> {
  const t0 = performance.now();
  let client: ControlClient | undefined;
  try {
    client = await ControlClient.connect(socket, { timeoutMs: 5000 });
    const status = await client.call('status', []);
    return { ms: performance.now() - t0, status };
  } catch (err) {
    return { ms: performance.now() - t0, error: (err as Error).message };
  } finally {
    client?.close();
  }
}

async function call<T>(socket: string, fn: (c: ControlClient) => Promise<T>): Promise<T> {
  const client = await ControlClient.connect(socket);
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

interface AgentReport { boot: string; published: number; refused: number; reads: number; readErrors: number; skipped: number; heapUsed?: number; heapTotal?: number; final: boolean }

/** Each agent's latest `SOAK {...}` line per boot (the agents log one every 5 s and a final one at soak/stop). */
async function agentReports(socket: string, agents: readonly IAgentStatus[]): Promise<Map<string, AgentReport & { agentId: string }>> {
  const out = new Map<string, AgentReport & { agentId: string }>();
  await call(socket, async (c) => {
    for (const a of agents) {
      for (const line of await c.call('logs.read', [a.pid, { lines: 2000 }])) {
        if (!line.message.startsWith('SOAK ')) continue;
        const r = JSON.parse(line.message.slice(5)) as AgentReport;
        const key = `${a.agentId}/${r.boot}`;
        const prev = out.get(key);
        if (prev === undefined || r.published >= prev.published) out.set(key, { ...r, agentId: a.agentId, ...(r.heapUsed === undefined ? {} : { heapUsed: r.heapUsed }) });
      }
    }
  });
  return out;
}

/** Published per boot: the agent's own count, or (a boot that crashed between reports) the highest number seen + 1. */
function streams(reports: Map<string, AgentReport & { agentId: string }>, sub: CountingSubscriber): (StreamCount & { missing?: string[] })[] {
  const keys = new Set([...reports.keys(), ...sub.boots.keys()]);
  return [...keys].map((key) => {
    const r = reports.get(key);
    const tally = sub.boots.get(key);
    const published = Math.max(r?.published ?? 0, (tally?.maxSeq ?? -1) + 1);
    const delivered = sub.deliveredBelow(key, published);
    // Sequence numbers are ~hz per second since the agent started: the ranges date a loss (against broker restarts).
    const missing = delivered < published ? { missing: sub.missingBelow(key, published) } : {};
    return { agentId: r?.agentId ?? tally?.agentId ?? '?', boot: key.split('/')[1] ?? '?', published, delivered, duplicates: tally?.duplicates ?? 0, ...missing };
  });
}

interface Counters { agentsHeapUsed: number; agentsHeapTotal: number; rssBytes: number; treeRssBytes: number; treeProcesses: number; fds: number; published: number; delivered: number; duplicates: number; restarts: number; fired: number; firedDelivered: number; queued: number; queueDropped: number; statusP50: number; statusP99: number; statusErrors: number; brokerRestarts: number; brokerKills: number }

function line(minute: string, c: Counters): string {
  return `[${minute}] daemon RSS ${mib(c.rssBytes)} (tree ${mib(c.treeRssBytes)}, ${c.treeProcesses} proc; agents' heaps ${mib(c.agentsHeapUsed)} used of ${mib(c.agentsHeapTotal)}) | fds ${c.fds} | QoS 1 published ${c.published} delivered ${c.delivered} dup ${c.duplicates} (queue ${c.queued}, dropped ${c.queueDropped}) | restarts ${c.restarts} | rule fires ${c.fired} (${c.firedDelivered} delivered) | status p50 ${c.statusP50.toFixed(1)} ms p99 ${c.statusP99.toFixed(1)} ms (${c.statusErrors} failed) | broker restarts ${c.brokerRestarts} (${c.brokerKills} SIGKILL)`;
}

function fired(status: DaemonStatus | undefined): number {
  return Number((status?.orchestration as { fired?: unknown } | undefined)?.fired ?? 0);
}
function queueOf(status: DaemonStatus | undefined): { queued: number; dropped: number } {
  const q = (status?.link as { queue?: { queued?: number; dropped?: number } } | undefined)?.queue;
  return { queued: q?.queued ?? 0, dropped: q?.dropped ?? 0 };
}

async function main(): Promise<number> {
  const o = options(process.argv.slice(2));
  if (!hasTool('mosquitto')) {
    console.error('soak: mosquitto is not installed (Debian package mosquitto)');
    return 2;
  }
  // Short on purpose: the control socket's path is limited to 107 bytes.
  const work = await mkdtemp(path.join(tmpdir(), 'os-soak-'));
  let broker: Mosquitto | undefined;
  let daemon: ChildProcess | undefined;
  let sub: CountingSubscriber | undefined;
  // The work dir (daemon log, broker log, home) is kept when the run fails, for the post-mortem.
  let keep = true;
  try {
    broker = await startMosquitto({ dir: path.join(work, 'broker'), persistence: true });
    sub = await countingSubscriber(broker.url, PREFIX);
    // One clean restart before the load, so mosquitto's database on disk holds the subscriber's session: a SIGKILLed
    // mosquitto comes back with what it last saved (it saves on SIGTERM), and without a saved session the daemon
    // may reconnect before the subscriber has subscribed again and its messages go to nobody — the broker's loss,
    // not the daemon's (seen in a trial run: 3 readings per agent at a SIGKILL with no database yet).
    await broker.restart();
    const primed = Date.now() + 10_000;
    while (!sub.client.connected && Date.now() < primed) await sleep(50);
    const config = await writeFixtures(work, o, broker.url);
    const started = await startDaemon(work, config);
    daemon = started.child;
    const { socket } = started;
    const pid = daemon.pid as number;
    console.log(`soak: ${o.minutes} min, ${o.agents} agents at ${o.hz} Hz, warm-up ${o.warmup} min; daemon pid ${pid}, mosquitto ${broker.url}, work ${work}; Node ${process.version}`);
    await call(socket, async (c) => {
      for (let i = 0; i < o.agents; i++) await c.call('spawnAgent', [`soak-sensor-${i}`]);
    });

    const t0 = Date.now();
    const samples: Sample[] = [];
    const minuteSamples: Counters[] = [];
    let latencies: number[] = [];
    const allLatencies: number[] = [];
    let statusErrors = 0;
    const slowPolls: { second: number; ms: number; brokerRunning: boolean }[] = [];
    let lastStatus: DaemonStatus | undefined;
    let brokerRestarts = 0;
    let brokerKills = 0;
    let restarting: Promise<void> | undefined;
    const brokerEvents: { second: number; signal: string; downMs?: number }[] = [];

    const counters = async (final: boolean): Promise<Counters> => {
      const agents = (await call(socket, (c) => c.call('listAgents', []))).filter((a) => a.agentId.startsWith('soak-sensor-'));
      const reports = await agentReports(socket, agents);
      const s = streams(reports, sub as CountingSubscriber);
      const proc = await sampleProcess(pid);
      const q = queueOf(lastStatus);
      const lat = final ? allLatencies : latencies;
      return {
        ...proc,
        published: s.reduce((n, x) => n + x.published, 0),
        delivered: s.reduce((n, x) => n + x.delivered, 0),
        duplicates: s.reduce((n, x) => n + x.duplicates, 0),
        restarts: agents.reduce((n, a) => n + a.restarts, 0) + agents.filter((a) => a.state === 'crashed' || a.state === 'exited').length,
        fired: fired(lastStatus),
        firedDelivered: (sub as CountingSubscriber).counts.fired,
        queued: q.queued,
        queueDropped: q.dropped,
        agentsHeapUsed: [...reports.values()].reduce((n, r) => n + (r.heapUsed ?? 0), 0),
        agentsHeapTotal: [...reports.values()].reduce((n, r) => n + (r.heapTotal ?? 0), 0),
        statusP50: percentile(lat, 50),
        statusP99: percentile(lat, 99),
        statusErrors,
        brokerRestarts,
        brokerKills,
      };
    };

    for (let second = 1; second <= o.minutes * 60; second++) {
      const next = t0 + second * 1000;
      const poll = await pollStatus(socket);
      latencies.push(poll.ms);
      allLatencies.push(poll.ms);
      // Slow polls with where they fell in the minute (the broker goes down at :30), for the post-mortem.
      if (poll.ms > 250) slowPolls.push({ second, ms: Math.round(poll.ms), brokerRunning: broker.running });
      if (poll.status) lastStatus = poll.status;
      else if (++statusErrors <= 5) console.log(`[${(second / 60).toFixed(1)} min] status failed after ${poll.ms.toFixed(0)} ms: ${poll.error}`);
      if (daemon.exitCode !== null) throw new Error(`the daemon exited with ${daemon.exitCode}; see ${started.logFile}`);
      const proc = await sampleProcess(pid);
      samples.push({ t: second, rssBytes: proc.rssBytes, treeRssBytes: proc.treeRssBytes, fds: proc.fds });
      // Half-way through each minute: the broker goes away and comes back on the same port.
      if (second % 60 === 30 && restarting === undefined) {
        const b = broker;
        const kill = (brokerRestarts + 1) % o.killEvery === 0;
        const event: (typeof brokerEvents)[number] = { second, signal: kill ? 'SIGKILL' : 'SIGTERM' };
        brokerEvents.push(event);
        const down = performance.now();
        restarting = (async () => {
          if (kill) await b.kill();
          await b.restart();
          event.downMs = Math.round(performance.now() - down);
        })().finally(() => {
          brokerRestarts += 1;
          if (kill) brokerKills += 1;
          restarting = undefined;
        });
      }
      if (second % 60 === 0) {
        const c = await counters(false);
        minuteSamples.push(c);
        console.log(line(`${second / 60} min`, c));
        latencies = [];
      }
      await sleep(Math.max(0, next - Date.now()));
    }

    // The end: the agents stop publishing, the broker is up, the queue drains and the subscriber catches up.
    await restarting;
    await call(socket, (c) => c.call('events.emit', ['soak/stop']));
    // Drained: the queue empty and every number delivered, or the queue empty and nothing new for 10 s (a loss).
    const drainEnd = Date.now() + 120_000;
    let drained = false;
    let lastDelivered = -1;
    let stableSince = Date.now();
    while (Date.now() < drainEnd) {
      const poll = await pollStatus(socket);
      if (poll.status) lastStatus = poll.status;
      const c = await counters(true);
      if (c.delivered !== lastDelivered) {
        lastDelivered = c.delivered;
        stableSince = Date.now();
      }
      if (queueOf(lastStatus).queued === 0 && (c.delivered >= c.published || Date.now() - stableSince > 10_000)) {
        drained = true;
        break;
      }
      await sleep(1000);
    }
    await sleep(2000); // late duplicates
    const final = await counters(true);
    console.log(line('end', final));
    const agents = (await call(socket, (c) => c.call('listAgents', []))).filter((a) => a.agentId.startsWith('soak-sensor-'));
    const reports = await agentReports(socket, agents);
    const perStream = streams(reports, sub);
    const verdict: Verdict = judge({ samples, minutes: o.minutes, warmupMinutes: o.warmup, streams: perStream, queueDropped: queueOf(lastStatus).dropped });
    const notFinal = [...reports.entries()].filter(([key, r]) => !r.final && agents.some((a) => a.agentId === r.agentId && a.state === 'running' && key.endsWith(`/${r.boot}`)));
    const summary = {
      date: new Date().toISOString(),
      node: process.version,
      machine: machine(),
      options: o,
      drained,
      verdict,
      final,
      minutes: minuteSamples,
      streams: perStream,
      agentReports: Object.fromEntries(reports),
      agentsNotReportingFinal: notFinal.map(([key]) => key),
      agents: agents.map((a) => ({ agentId: a.agentId, state: a.state, restarts: a.restarts, reason: a.reason })),
      subscriber: sub.counts,
      brokerEvents,
      statusLatencyMs: { p50: percentile(allLatencies, 50), p99: percentile(allLatencies, 99), max: Math.max(...allLatencies), polls: allLatencies.length, failed: statusErrors, over250ms: slowPolls },
      link: lastStatus?.link,
      orchestration: lastStatus?.orchestration,
    };
    await writeFile(o.out, `${JSON.stringify(summary, null, 2)}\n`);
    console.log(`RSS: ${verdict.rss.definition}: ${verdict.rss.checked ? `${mib(verdict.rss.baselineBytes ?? 0)} -> ${mib(verdict.rss.endBytes ?? 0)} (${(verdict.rss.growthPct ?? 0).toFixed(1)} %)` : 'not judged (run shorter than warm-up + 2 min)'}`);
    console.log(`fds (minimum of the minute after warm-up vs of the last minute): ${verdict.fds.checked ? `${verdict.fds.baseline} -> ${verdict.fds.end}` : 'not judged'}`);
    console.log(`QoS 1: published ${verdict.published}, delivered ${verdict.delivered} unique, ${verdict.duplicates} duplicates, lost ${verdict.lost}, queue dropped ${verdict.queueDropped}${drained ? '' : ' (the queue did not drain within 120 s)'}`);
    console.log(`summary: ${o.out}`);
    if (!drained) verdict.failures.push('the queue did not drain within 120 s of the end');
    if (verdict.failures.length > 0) {
      console.log(`SOAK FAILED:\n  ${verdict.failures.join('\n  ')}\n(work dir kept: ${work})`);
      return 1;
    }
    console.log('SOAK PASSED');
    keep = false;
    return 0;
  } finally {
    await sub?.close().catch(() => undefined);
    if (daemon) await stop(daemon);
    await broker?.kill();
    if (keep) console.log(`soak: work dir kept: ${work}`);
    else await rm(work, { recursive: true, force: true }).catch(() => undefined);
  }
}

function machine(): string {
  let cpu = '';
  try {
    cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '';
  } catch {
    // not Linux
  }
  return `${cpu}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB`;
}

await mkdir(tmpdir(), { recursive: true });
process.exitCode = await main().catch((err: unknown) => {
  console.error(`soak: ${(err as Error).stack ?? String(err)}`);
  return 1;
});
