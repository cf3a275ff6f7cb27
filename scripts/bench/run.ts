/**
 * `npm run bench`: the runtime's speed and memory figures, each measured side by side with its baseline in this one
 * run, printed as a table with ratios and written as JSON (bench-results.ts). Runs the built bundle (dist/), which
 * is what a board runs. `lean` marks issue 12's rows (`npm run bench -- lean`); a lean row is repeated
 * (BENCH_ROUNDS, else 5 for a fast row, 3 for a slow one) and its median reported.
 *
 *   id             row(s)                                                       baseline / target
 *   boot           lean: boot to READY=1 at a real NOTIFY_SOCKET listener      bare-baseline.mjs (1 worker, a Unix
 *                  (boot-bench.ts)                                              socket, READY=1); <= 2.5x
 *   cli            lean: one `openstarry ps`, wall time (cli-bench.ts)           `node -e 0`; <= 1.5x
 *   idle-rss       lean: idle RSS 20 s after spawn, daemon + master agent,      node holding 1 idle worker; <= 1.25x
 *                  broker and dashboard on (idle-bench.ts)
 *   agent-rss      lean: RSS per further worker agent, 10 hello-sensor          per further bare worker; <= 1.2x
 *   idle-cpu       lean: idle CPU over 60 s, % of one core                      <= 0.5 %
 *   idle-rss-warm  idle RSS with agents.warmSpares: 1                           node holding 1 idle worker
 *   spawn          lean: spawn -> running p50/p99, listAgents round trip        a bare worker's first message
 *                  (spawn-bench.ts)
 *   spawn-warm     the same with agents.warmSpares: 1
 *   sensor         lean: HAL sensor reads from a worker agent, p50/p99, reads/s a raw MessagePort round trip
 *                  (hal-bench.ts)
 *   camera         frames/s delivered, daemon RSS over the run (BENCH_CAMERA_SECONDS, default 60)
 *   state-file     bytes written per minute, 10 agents saving every 100 ms     a write per update
 *   recovery       10 agents back after a daemon SIGKILL
 *   mqtt           lean: QoS 1 throughput, drain of 10,000 queued; queue cost   bare mqtt.js to the same mosquitto
 *                  (mqtt-bench.ts)
 *   event-action   lean: mosquitto publish -> rule -> spawn -> start(), p50/p99 a bare publish -> subscriber round trip
 *                  (orchestration-bench.ts)
 *   isolation      worker vs process drivers: start -> running, idle RSS, HAL reads/s (isolation-bench.ts)
 *   sd-notify      the addon vs forking systemd-notify, per message (sd-notify-bench.ts)
 *   qemu-boot      lean: the packaged arm64 runtime under qemu-aarch64 to      <= 4 s
 *                  READY=1 (qemu-boot-bench.ts)
 *   node-red       lean, reported: idle RSS and boot beside Node-RED 4          (node-red-bench.ts)
 *
 *   npm run bench -- [lean] [--only ID,ID] [--out PATH] [--list]   (bench-args.ts)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { BenchArgs, Selectable } from './bench-args.ts';
import { parseBenchArgs, selectBenches, USAGE } from './bench-args.ts';
import { writeResults } from './bench-results.ts';
import { print, ROOT, rows } from './bench-table.ts';
import { benchBoot } from './boot-bench.ts';
import { benchCliCall } from './cli-bench.ts';
import { benchCamera, benchSensorReads } from './hal-bench.ts';
import { benchIdle, idleGroup } from './idle-bench.ts';
import { benchAllIsolationDrivers } from './isolation-bench.ts';
import { rounds } from './measure.ts';
import { benchMqtt } from './mqtt-bench.ts';
import { benchNodeRed } from './node-red-bench.ts';
import { benchEventToAction } from './orchestration-bench.ts';
import { benchQemuBoot } from './qemu-boot-bench.ts';
import { benchRecovery } from './recovery-bench.ts';
import { benchSdNotify } from './sd-notify-bench.ts';
import { benchSpawnAndRoundTrip } from './spawn-bench.ts';
import { benchStateFile } from './state-file-bench.ts';

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

/** run() may answer a note to print instead of its duration. */
interface Bench extends Selectable { run(work: string): Promise<string | undefined | void> }

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
  console.log(`openstarryd benchmarks — node ${process.version}, lean rows: medians of ${rounds('fast')} (fast) / ${rounds('slow')} (slow) rounds, baselines measured in the same run: ${selected.map((b) => b.id).join(', ')}\n`);
  for (const bench of selected) {
    const t0 = performance.now();
    try {
      const note = await bench.run(work);
      console.log(`${bench.id}: ${note ?? `${((performance.now() - t0) / 1000).toFixed(1)} s`}`);
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
