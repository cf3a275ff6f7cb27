/**
 * Isolation drivers side by side (issue 6), measured in this process through each driver's own interface, with the
 * REAL HAL service over the sim board answering — no daemon, so the figures are the driver's, not the control
 * plane's:
 *
 *   spawn latency    driver.start() -> lifecycle {running} for an idle agent, p50 / p99
 *   idle memory      RSS added per idle agent: (this process + every isolate's own process) after N agents have
 *                    settled, minus this process before, divided by N. Counts a worker's thread in this process and
 *                    a child's (or container's) whole process alike.
 *   HAL calls        an agent reads a cached quantity (gps0.latitude: channel + grant check + driver) in a loop:
 *                    calls/s and p50
 *
 * `benchIsolation(name, makeDriver)` returns the figures; `benchIsolationDrivers(drivers)` adds table rows.
 * Docker and wasm drivers plug in the same way: `benchIsolationDrivers([..., ['docker', () => new DockerDriver()]])`.
 * Standalone: `node --import tsx scripts/bench/isolation-bench.ts` (worker and process).
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadProfiles, PROFILES_DIR } from '../../board-profiles/detect.ts';
import type { BoardProfile } from '../../board-profiles/profile-schema.ts';
import { openBoardHal } from '../../hal/board-hal.ts';
import { systemClock } from '../../runtime/clock.ts';
import type { LifecycleNote, LogNote } from '../../runtime/core/channel-messages.ts';
import { loadBlueprint } from '../../runtime/design/blueprint.ts';
import type { Blueprint } from '../../runtime/design/blueprint.ts';
import type { IIsolate, IIsolationDriver } from '../../runtime/isolation/isolation-driver.ts';
import { ProcessDriver } from '../../runtime/isolation/process/process-driver.ts';
import { ENTRY_FILE_NAME } from '../../runtime/isolation/process/process-entry-file.ts';
import { WasmDriver } from '../../runtime/isolation/wasm/wasm-driver.ts';
import { WorkerDriver } from '../../runtime/isolation/worker/worker-driver.ts';
import { hasTool } from '../testing/system-deps.ts';
import { silentLogger } from '../../runtime/logging/logger.ts';
import { fmt, print, ROOT, rows } from './bench-table.ts';
import { percentile, sleep } from './measure.ts';

export interface IsolationBenchOptions {
  /** Spawns timed (default 20). */
  spawns?: number;
  /** Idle agents for the memory figure (default 5). */
  idleAgents?: number;
  /** HAL calls timed (default 5000). */
  halCalls?: number;
  /** Where the bench agents' folders go (default a folder under the OS temp dir). */
  work?: string;
}

export interface IsolationBenchResult {
  driver: string;
  spawnP50Ms: number;
  spawnP99Ms: number;
  idleBytesPerAgent: number;
  halCallsPerSecond: number;
  halP50Ms: number;
}

async function rss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

async function writeAgent(dir: string, id: string, body: string, capabilities: string[] = []): Promise<Blueprint> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'agent.json'), JSON.stringify({ id, version: '1.0.0', plugins: ['./main.js'], capabilities }));
  await writeFile(path.join(dir, 'main.js'), body);
  return loadBlueprint(path.join(dir, 'agent.json'));
}

const IDLE = "export default { name: 'idle', start() { this.t = setInterval(() => {}, 60000); }, stop() { clearInterval(this.t); } };\n";
const HAL_LOOP = (n: number) => `export default { name: 'hal', async start(ctx) {
  for (let i = 0; i < 200; i++) await ctx.hal.getSensorData('gps0.latitude');
  const lat = []; const t0 = performance.now();
  for (let i = 0; i < ${n}; i++) { const s = performance.now(); await ctx.hal.getSensorData('gps0.latitude'); lat.push(performance.now() - s); }
  const total = performance.now() - t0; lat.sort((a, b) => a - b);
  ctx.log.info('bench', { perSecond: ${n} / (total / 1000), p50: lat[Math.floor(${n} * 0.5)] });
} };\n`;

let nextPid = 1;

async function startRunning(driver: IIsolationDriver, blueprint: Blueprint, beforeMessages?: (i: IIsolate, pid: string) => void): Promise<IIsolate> {
  const pid = `bench-${nextPid++}`;
  const isolate = await driver.start({ pid, blueprint, env: { OPENSTARRY_AGENT_ID: blueprint.manifest.id, OPENSTARRY_HOME: path.join(tmpdir(), 'openstarry-bench-home') } });
  beforeMessages?.(isolate, pid);
  isolate.channel.handle('state.load', () => null);
  const note = await new Promise<LifecycleNote>((resolve) => isolate.channel.onNote('lifecycle', (p) => resolve(p as LifecycleNote)));
  if (note.state !== 'running') throw new Error(`bench agent did not run under ${driver.name}: ${JSON.stringify(note)}`);
  return isolate;
}

export async function benchIsolation(name: string, makeDriver: () => IIsolationDriver | Promise<IIsolationDriver>, options: IsolationBenchOptions = {}): Promise<IsolationBenchResult> {
  const work = path.join(options.work ?? path.join(tmpdir(), 'openstarry-isolation-bench'), name);
  const driver = await makeDriver();
  const profiles = await loadProfiles(path.resolve(PROFILES_DIR));
  const hal = await openBoardHal({ profile: profiles.get('sim') as BoardProfile, configDevices: [], clock: systemClock, log: silentLogger });
  try {
    const idle = await writeAgent(path.join(work, 'idle'), 'bench-idle', IDLE);
    // One unmeasured spawn: a driver's first start may build or load things once (the process driver's entry).
    await (await startRunning(driver, idle)).terminate();
    const spawnMs: number[] = [];
    for (let i = 0; i < (options.spawns ?? 20); i++) {
      const t0 = performance.now();
      const isolate = await startRunning(driver, idle);
      spawnMs.push(performance.now() - t0);
      await isolate.terminate();
    }

    await sleep(500);
    const before = await rss(process.pid);
    const agents: IIsolate[] = [];
    for (let i = 0; i < (options.idleAgents ?? 5); i++) agents.push(await startRunning(driver, idle));
    await sleep(2000);
    const own = await Promise.all(agents.map((a) => (a.osPid === undefined ? 0 : rss(a.osPid))));
    const after = (await rss(process.pid)) + own.reduce((s, n) => s + n, 0);
    await Promise.all(agents.map((a) => a.terminate()));

    const n = options.halCalls ?? 5000;
    const halAgent = await writeAgent(path.join(work, 'hal'), 'bench-hal', HAL_LOOP(n), ['sensor:gps0:read']);
    hal.service.admit('bench-hal', 'bench-hal', halAgent.manifest.capabilities);
    let report: Promise<LogNote> | undefined;
    const isolate = await startRunning(driver, halAgent, (i) => {
      hal.service.attach('bench-hal', i.channel);
      report = new Promise((resolve) => i.channel.onNote('log', (p) => resolve(p as LogNote)));
    });
    const stats = (await report)?.fields as { perSecond: number; p50: number };
    await isolate.terminate();
    await hal.service.detach('bench-hal');
    hal.service.release('bench-hal');

    return {
      driver: name,
      spawnP50Ms: percentile(spawnMs, 50),
      spawnP99Ms: percentile(spawnMs, 99),
      idleBytesPerAgent: (after - before) / agents.length,
      halCallsPerSecond: stats.perSecond,
      halP50Ms: stats.p50,
    };
  } finally {
    await driver.close?.();
    await hal.close();
  }
}

/** Runs benchIsolation for each driver and adds three rows per driver to the bench table. */
export async function benchIsolationDrivers(drivers: readonly [string, () => IIsolationDriver | Promise<IIsolationDriver>][], options: IsolationBenchOptions = {}): Promise<IsolationBenchResult[]> {
  const results: IsolationBenchResult[] = [];
  for (const [name, make] of drivers) results.push(await benchIsolation(name, make, options));
  const base = results[0];
  const ratio = (a: number, b: number | undefined) => (b === undefined || b === 0 ? '-' : `${(a / b).toFixed(2)}x`);
  for (const r of results) {
    const against = r === base ? '-' : `${base?.driver ?? '-'}`;
    rows.push({ metric: `isolation ${r.driver}: driver.start -> running p50 (p99)`, ours: `${fmt(r.spawnP50Ms, 'ms')} (${fmt(r.spawnP99Ms, 'ms')})`, base: against === '-' ? '-' : `${against} ${fmt(base?.spawnP50Ms ?? Number.NaN, 'ms')}`, ratio: r === base ? '-' : ratio(r.spawnP50Ms, base?.spawnP50Ms), target: '-', met: '-' });
    rows.push({ metric: `isolation ${r.driver}: idle RSS per agent`, ours: fmt(r.idleBytesPerAgent / 2 ** 20, 'MB'), base: against === '-' ? '-' : `${against} ${fmt((base?.idleBytesPerAgent ?? Number.NaN) / 2 ** 20, 'MB')}`, ratio: r === base ? '-' : ratio(r.idleBytesPerAgent, base?.idleBytesPerAgent), target: '-', met: '-' });
    rows.push({ metric: `isolation ${r.driver}: HAL reads/s (p50)`, ours: `${Math.round(r.halCallsPerSecond)}/s (${fmt(r.halP50Ms, 'ms')})`, base: against === '-' ? '-' : `${against} ${Math.round(base?.halCallsPerSecond ?? Number.NaN)}/s`, ratio: r === base ? '-' : ratio(r.halCallsPerSecond, base?.halCallsPerSecond), target: '-', met: '-' });
  }
  return results;
}

/**
 * The drivers this checkout has, on the bundled entries in dist/ (what a board runs; `npm run build` first) when
 * they are there. From source a worker registers tsx in each thread, which makes its spawn ~20x slower.
 */
const dist = (file: string) => path.join(ROOT, 'dist', file);

export const ISOLATION_DRIVERS: readonly [string, () => IIsolationDriver][] = [
  ['worker', () => (existsSync(dist('agent-host.cjs')) ? new WorkerDriver({ entry: pathToFileURL(dist('agent-host.cjs')) }) : new WorkerDriver())],
  ['process', () => (existsSync(dist(ENTRY_FILE_NAME)) ? new ProcessDriver({ entry: dist(ENTRY_FILE_NAME) }) : new ProcessDriver())],
  ['wasm', () => (existsSync(dist('wasm-host.js')) ? new WasmDriver({ entry: pathToFileURL(dist('wasm-host.js')), runtimeEntry: dist('wasm-vm-runtime.js') }) : new WasmDriver())],
];

/**
 * All four drivers side by side (issue 6): docker through podman's Engine API when podman and runc are installed
 * (a service started for the run, the test image built once), else through DOCKER_HOST; skipped otherwise.
 */
export async function benchAllIsolationDrivers(work: string): Promise<void> {
  const drivers: [string, () => IIsolationDriver | Promise<IIsolationDriver>][] = [...ISOLATION_DRIVERS];
  let service: { stop(): Promise<void> } | undefined;
  if (hasTool('podman') && hasTool('runc')) {
    const { startPodmanService, ensureImage, TEST_IMAGE } = await import('../testing/podman.ts');
    const { DockerDriver } = await import('../../runtime/isolation/docker/docker-driver.ts');
    const podman = await startPodmanService();
    service = podman;
    await ensureImage(TEST_IMAGE);
    drivers.push(['docker', () => DockerDriver.open({ socketPath: podman.socketPath, image: TEST_IMAGE, runDir: path.join(work, 'docker-run'), daemonId: `bench-${process.pid}` })]);
  } else {
    rows.push({ metric: 'isolation docker', ours: 'skipped: podman/runc not installed', base: '-', ratio: '-', target: '-', met: '-' });
  }
  try {
    await benchIsolationDrivers(drivers, { work: path.join(work, 'isolation') });
  } finally {
    await service?.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await benchAllIsolationDrivers(path.join(tmpdir(), `openstarry-isolation-bench-${process.pid}`));
  print();
}
