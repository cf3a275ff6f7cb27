/**
 * `npm run bench`: the walking skeleton's speed and memory targets, each measured side by side with its baseline
 * in this one run, printed as a table with ratios. Runs the built bundle (dist/), which is what a board runs.
 *
 *   boot to READY=1        openstarryd to READY=1 at a NOTIFY_SOCKET listener  vs  bare-baseline.mjs (boot-bench.ts)
 *   idle RSS, CPU          the daemon + master agent after 20 s; CPU over 60 s; RSS per further agent  vs  node + idle
 *                          worker(s) (idle-bench.ts)
 *   spawn latency          spawnAgent -> running for a worker agent, p50/p99    vs  a bare worker_thread's first message
 *   (the memory and spawn rows are repeated with `agents.warmSpares: 1`, the trade-off a user can choose)
 *   control round trip     listAgents over the Unix socket, p50/p99              (target only)
 *   HAL sensor reads       from a worker agent, reads/s and p50/p99              vs  a raw MessagePort round trip
 *   camera to an agent     frames/s delivered, daemon RSS over the run (BENCH_CAMERA_SECONDS, default 60)
 *   state file             bytes written per minute, 10 agents saving every 100 ms, vs a write per update
 *   event -> action        mosquitto publish -> rule -> spawn -> the agent's start(), p50/p99 (orchestration-bench.ts)
 *   MQTT link              QoS 1 throughput, drain of 10,000 queued, queue cost vs a rewrite per message (mqtt-bench.ts)
 *   isolation drivers      worker vs process side by side: start -> running, idle RSS per agent, HAL reads/s
 *   sd_notify              the addon vs forking systemd-notify from a daemon-sized process, per message (sd-notify-bench.ts)
 *   CLI call               `openstarry ps` against the daemon, wall time, median  vs  `node -e 0` (cli-bench.ts)
 *   arm64 boot             the packaged arm64 runtime under qemu-aarch64 to READY=1, <= 4 s (qemu-boot-bench.ts)
 *   Node-RED 4             idle RSS and boot beside the daemon, reported, not a target (node-red-bench.ts)
 *
 *   npm run bench -- [lean] [--only ID,ID] [--out PATH] [--list]   (bench-args.ts; ids: --list)
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ControlClient } from '../../runtime/control/control-client.ts';
import { DAEMON, daemonEnv, fmt, print, ROOT, rows } from './bench-table.ts';
import type { BenchArgs, Selectable } from './bench-args.ts';
import { parseBenchArgs, selectBenches, USAGE } from './bench-args.ts';
import { writeResults } from './bench-results.ts';
import { benchSpawnAndRoundTrip } from './spawn-bench.ts';
import { benchCamera, benchSensorReads } from './hal-bench.ts';
import { benchMqtt } from './mqtt-bench.ts';
import { benchAllIsolationDrivers } from './isolation-bench.ts';
import { benchEventToAction } from './orchestration-bench.ts';
import { benchSdNotify } from './sd-notify-bench.ts';
import { benchCliCall } from './cli-bench.ts';
import { benchBoot } from './boot-bench.ts';
import { benchIdle, idleGroup } from './idle-bench.ts';
import { benchQemuBoot } from './qemu-boot-bench.ts';
import { benchNodeRed } from './node-red-bench.ts';
import { benchStateWrites } from '../../runtime/state/state-write-bench.ts';
import { sleep, startUntil, stop } from './measure.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

/** Spec 002 phase 1.3: SIGKILL the daemon with N agents running; how long the next boot takes to bring them back. */
async function benchRecovery(work: string, n: number): Promise<void> {
  const home = path.join(work, 'recovery');
  const env = await daemonEnv(home);
  const first = await startUntil(process.execPath, [DAEMON], env, / ready in \d+ ms/);
  const client = await ControlClient.connect(path.join(home, 'openstarryd.sock'));
  for (let i = 0; i < n; i++) {
    const dir = path.join(work, 'recovery-agents', `idle-${i}`);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'agent.json'), JSON.stringify({ id: `idle-${i}`, version: '1.0.0', plugins: ['./idle.js'] }));
    await writeFile(path.join(dir, 'idle.js'), "export default { name: 'idle', start(ctx) { ctx.state.set({ up: true }); this.t = setInterval(() => {}, 60000); }, stop() { clearInterval(this.t); } };\n");
    await client.call('spawnAgent', [path.join(dir, 'agent.json')]);
  }
  client.close();
  await sleep(2500); // one coalesced journal write
  await stop(first.child, 'SIGKILL');
  const second = await startUntil(process.execPath, [DAEMON], env, / ready in \d+ ms/);
  const c2 = await ControlClient.connect(path.join(home, 'openstarryd.sock'));
  const status = await c2.call('status');
  c2.close();
  await stop(second.child);
  const phase = status.phases.find((p) => p.name === 'recovery');
  const restored = status.recovery?.restored.length ?? 0;
  rows.push({ metric: `recover ${n} agents after a daemon SIGKILL`, ours: fmt(second.ms, 'ms'), base: `phase ${fmt(phase?.durationMs ?? Number.NaN, 'ms')}`, ratio: '-', target: `${n} restored`, met: restored === n ? `yes (${restored})` : `NO (${restored})` });
}

/** The state DB under 10 agents saving every 100 ms: what reaches the SD card, vs a write per update. */
async function benchStateFile(work: string): Promise<void> {
  const dir = path.join(work, 'state');
  await mkdir(dir, { recursive: true });
  const r = await benchStateWrites(dir, { agents: 10, hz: 10, seconds: Number(process.env.BENCH_STATE_SECONDS ?? 20) });
  const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB/min`;
  rows.push({ metric: 'state file, 10 agents x 10 saves/s', ours: `${kib(r.bytesPerMinute)} (${Math.round(r.writesPerMinute)} writes/min)`, base: kib(r.naiveBytesPerMinute), ratio: `${(r.naiveBytesPerMinute / Math.max(1, r.bytesPerMinute)).toFixed(0)}x less`, target: 'coalesced', met: r.writesPerMinute <= 31 ? 'yes' : 'NO' });
}

/** The idle rows share their daemons (idle-bench.ts): they need to know which of them were selected. */
let selectedIds: readonly string[] = [];
const idle = idleGroup(() => selectedIds);

/** Every benchmark by id, in the order they run; `lean` ones are issue 12's rows (`npm run bench -- lean`). */
const BENCHES: readonly Bench[] = [
  { id: 'boot', lean: true, run: benchBoot },
  { id: 'cli', lean: true, run: benchCliCall },
  { id: 'idle-rss', lean: true, run: idle },
  { id: 'agent-rss', lean: true, run: idle },
  { id: 'idle-cpu', lean: true, run: idle },
  { id: 'idle-rss-warm', lean: false, run: (work) => benchIdle(work, new Set(['idle-rss']), true) },
  { id: 'spawn', lean: true, run: (work) => benchSpawnAndRoundTrip(work, false) },
  { id: 'spawn-warm', lean: false, run: (work) => benchSpawnAndRoundTrip(work, true) },
  { id: 'sensor', lean: true, run: benchSensorReads },
  { id: 'camera', lean: false, run: benchCamera },
  { id: 'state-file', lean: false, run: benchStateFile },
  { id: 'recovery', lean: false, run: (work) => benchRecovery(work, 10) },
  { id: 'mqtt', lean: true, run: benchMqtt },
  { id: 'event-action', lean: true, run: benchEventToAction },
  { id: 'isolation', lean: false, run: benchAllIsolationDrivers },
  { id: 'sd-notify', lean: false, run: benchSdNotify },
  { id: 'qemu-boot', lean: true, run: benchQemuBoot },
  { id: 'node-red', lean: true, run: benchNodeRed },
];

interface Bench extends Selectable { run(work: string): Promise<void> }

let args: BenchArgs;
try {
  args = parseBenchArgs(process.argv.slice(2), ROOT, BENCHES.map((b) => b.id));
} catch (err) {
  console.error((err as Error).message);
  process.exit(2);
}
if (args.help || args.list) {
  console.log(args.help ? USAGE : BENCHES.map((b) => `${b.id}${b.lean ? ' (lean)' : ''}`).join('\n'));
  process.exit(0);
}
const selected = selectBenches(BENCHES, args);
selectedIds = selected.map((b) => b.id);
const work = await mkdtemp(path.join(tmpdir(), 'os-bench-'));
try {
  console.log(`openstarryd benchmarks — node ${process.version}, ${ROUNDS} boot rounds, baselines measured in the same run: ${selected.map((b) => b.id).join(', ')}\n`);
  for (const bench of selected) {
    try {
      await bench.run(work);
    } catch (err) {
      // One broken benchmark must not cost the others' figures: its row says why, and the run exits 1.
      process.exitCode = 1;
      rows.push({ metric: bench.id, ours: `FAILED: ${String((err as Error).message).split('\n')[0]}`, base: '-', ratio: '-', target: '-', met: 'NO' });
      console.error(`${bench.id}:`, err);
    }
  }
  print();
  await writeResults(args.out, rows, process.argv.slice(2));
  console.log(`\n${path.relative(process.cwd(), args.out) || args.out} written`);
} finally {
  await rm(work, { recursive: true, force: true });
}
