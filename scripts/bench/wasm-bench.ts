/**
 * Wasm isolation driver benchmark (issue 6), in this process against the built bundles (dist/wasm-host.js,
 * dist/wasm-vm-runtime.js: what a board runs; `npm run build` first), side by side with the worker driver
 * (dist/agent-host.cjs) running the same agents:
 *
 *   spawn latency   driver.start() -> lifecycle running, p50/p99 over BENCH_WASM_SPAWNS (default 20), after one
 *                   cold spawn reported on its own (the first VM compiles QuickJS's WASM functions lazily)
 *   idle memory     process RSS growth per idle agent with BENCH_WASM_IDLE agents (default 10) running, and
 *                   QuickJS's own heap estimate (usage().memoryBytes) for one
 *   HAL calls/s     an agent reading gps0.latitude (cached: the HAL path itself) in a loop from the real HAL
 *                   service over the sim board, reads/s and p50
 *
 *   npm run build && node --import tsx scripts/bench/wasm-bench.ts
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadProfiles } from '../../board-profiles/detect.ts';
import type { BoardProfile } from '../../board-profiles/profile-schema.ts';
import { openBoardHal } from '../../hal/board-hal.ts';
import { systemClock } from '../../runtime/clock.ts';
import type { LifecycleNote, LogNote } from '../../runtime/core/channel-messages.ts';
import { loadBlueprint } from '../../runtime/design/blueprint.ts';
import type { IIsolate, IIsolationDriver } from '../../runtime/isolation/isolation-driver.ts';
import { WasmDriver } from '../../runtime/isolation/wasm/wasm-driver.ts';
import { WorkerDriver } from '../../runtime/isolation/worker/worker-driver.ts';
import { silentLogger } from '../../runtime/logging/logger.ts';
import { fmt, ROOT, rows } from './bench-table.ts';
import { percentile, rssBytes, sleep } from './measure.ts';

export interface DriverFigures {
  coldSpawnMs: number;
  spawnP50Ms: number;
  spawnP99Ms: number;
  idleRssPerAgentBytes: number;
  vmHeapBytes: number | undefined;
  halReadsPerSecond: number;
  halReadP50Ms: number;
}

const IDLE = "export default { name: 'idle', start() { this.t = setInterval(() => {}, 60000); }, stop() { clearInterval(this.t); } };";
const READER = `export default { name: 'reader', async start(ctx) {
  const lat = []; const op = () => ctx.hal.getSensorData('gps0.latitude');
  for (;;) { try { await op(); break; } catch { await new Promise((r) => setTimeout(r, 100)); } }
  for (let i = 0; i < 200; i++) await op();
  const n = Number(ctx.config.n); const t0 = performance.now();
  for (let i = 0; i < n; i++) { const s = performance.now(); await op(); lat.push(performance.now() - s); }
  const total = performance.now() - t0; lat.sort((a, b) => a - b);
  ctx.log.info('BENCH', { perSecond: n / (total / 1000), p50: lat[Math.floor(n / 2)] });
} };`;

async function agent(work: string, name: string, main: string, extra: Record<string, unknown> = {}) {
  const dir = path.join(work, name);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'agent.json'), JSON.stringify({ id: name, version: '1.0.0', plugins: ['./main.js'], ...extra }));
  await writeFile(path.join(dir, 'main.js'), main);
  return loadBlueprint(path.join(dir, 'agent.json'));
}

let pids = 0;
async function spawnRunning(driver: IIsolationDriver, blueprint: Awaited<ReturnType<typeof loadBlueprint>>): Promise<{ isolate: IIsolate; ms: number }> {
  const t0 = performance.now();
  const isolate = await driver.start({ pid: `b${++pids}`, blueprint, env: { OPENSTARRY_AGENT_ID: blueprint.manifest.id, OPENSTARRY_HOME: '/tmp/bench' } });
  isolate.channel.handle('state.load', () => null);
  const note = await new Promise<LifecycleNote>((resolve) => isolate.channel.onNote('lifecycle', (p) => resolve(p as LifecycleNote)));
  if (note.state !== 'running') throw new Error(`bench agent did not start: ${JSON.stringify(note)}`);
  return { isolate, ms: performance.now() - t0 };
}

async function measureDriver(driver: IIsolationDriver, work: string, spawns: number, idle: number): Promise<DriverFigures> {
  const idleBp = await agent(work, `idle-${driver.name}`, IDLE);
  const cold = await spawnRunning(driver, idleBp);
  await cold.isolate.terminate();
  const times: number[] = [];
  for (let i = 0; i < spawns; i++) {
    const s = await spawnRunning(driver, idleBp);
    times.push(s.ms);
    await s.isolate.terminate();
  }
  await sleep(500);
  const before = await rssBytes(process.pid);
  const running: IIsolate[] = [];
  for (let i = 0; i < idle; i++) running.push((await spawnRunning(driver, idleBp)).isolate);
  await sleep(1500);
  const after = await rssBytes(process.pid);
  const vmHeapBytes = driver.name === 'wasm' ? (await running[0]?.usage())?.memoryBytes : undefined;
  await Promise.all(running.map((r) => r.terminate()));

  const profiles = await loadProfiles();
  const hal = await openBoardHal({ profile: profiles.get('sim') as BoardProfile, configDevices: [], clock: systemClock, log: silentLogger });
  try {
    const readerBp = await agent(work, `reader-${driver.name}`, READER, { capabilities: ['sensor:gps0:read'], config: { n: 3000 } });
    const pid = `b${++pids}`;
    hal.service.admit(pid, readerBp.manifest.id, readerBp.manifest.capabilities);
    const isolate = await driver.start({ pid, blueprint: readerBp, env: { OPENSTARRY_AGENT_ID: readerBp.manifest.id, OPENSTARRY_HOME: '/tmp/bench' } });
    hal.service.attach(pid, isolate.channel);
    isolate.channel.handle('state.load', () => null);
    const report = await new Promise<LogNote>((resolve) => isolate.channel.onNote('log', (p) => resolve(p as LogNote)));
    await isolate.exited;
    await hal.service.detach(pid);
    hal.service.release(pid);
    const f = report.fields as { perSecond: number; p50: number };
    return { coldSpawnMs: cold.ms, spawnP50Ms: percentile(times, 50), spawnP99Ms: percentile(times, 99), idleRssPerAgentBytes: (after - before) / idle, vmHeapBytes, halReadsPerSecond: f.perSecond, halReadP50Ms: f.p50 };
  } finally {
    await hal.close();
  }
}

/** The wasm driver's figures and the worker driver's, for the same agents; also pushed as rows of the bench table. */
export async function benchWasmDriver(work: string, options: { spawns?: number; idle?: number } = {}): Promise<{ wasm: DriverFigures; worker: DriverFigures }> {
  const spawns = options.spawns ?? Number(process.env.BENCH_WASM_SPAWNS ?? 20);
  const idle = options.idle ?? Number(process.env.BENCH_WASM_IDLE ?? 10);
  const dist = (f: string) => path.join(ROOT, 'dist', f);
  const wasm = await measureDriver(new WasmDriver({ entry: pathToFileURL(dist('wasm-host.js')), runtimeEntry: dist('wasm-vm-runtime.js') }), work, spawns, idle);
  const worker = await measureDriver(new WorkerDriver({ entry: pathToFileURL(dist('agent-host.cjs')) }), work, spawns, idle);
  const mb = (b: number) => b / (1024 * 1024);
  rows.push({ metric: 'wasm spawn -> running p50 (p99)', ours: `${fmt(wasm.spawnP50Ms, 'ms')} (${fmt(wasm.spawnP99Ms, 'ms')})`, base: `worker ${fmt(worker.spawnP50Ms, 'ms')}`, ratio: `${(wasm.spawnP50Ms / worker.spawnP50Ms).toFixed(2)}x`, target: '-', met: '-' });
  rows.push({ metric: 'wasm idle RSS per agent', ours: fmt(mb(wasm.idleRssPerAgentBytes), 'MB'), base: `worker ${fmt(mb(worker.idleRssPerAgentBytes), 'MB')}`, ratio: `${(wasm.idleRssPerAgentBytes / worker.idleRssPerAgentBytes).toFixed(2)}x`, target: '-', met: '-' });
  rows.push({ metric: 'wasm HAL reads/s (gps0, cached)', ours: wasm.halReadsPerSecond.toFixed(0), base: `worker ${worker.halReadsPerSecond.toFixed(0)}`, ratio: `${(wasm.halReadsPerSecond / worker.halReadsPerSecond).toFixed(2)}x`, target: '-', met: '-' });
  return { wasm, worker };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const work = await mkdtemp(path.join(tmpdir(), 'openstarry-wasm-bench-'));
  try {
    console.log(JSON.stringify(await benchWasmDriver(work), null, 2));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
