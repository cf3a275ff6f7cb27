/**
 * Docker isolation benchmarks (issue 6), on the driver directly (the daemon does not select docker yet):
 *
 *   spawn latency   driver.start() until the agent reports `running`, sequential, p50/p99 — vs the worker driver
 *   idle memory     memory_stats.usage of idle agent containers (the engine's number for the cgroup), median
 *   HAL calls/s     an agent awaits hal.read in a loop, answered by a channel handler on the daemon side: the
 *                   socket + framing path — vs the same loop in a worker (MessagePort)
 *
 * Engine: DOCKER_HOST / BENCH_DOCKER_SOCKET if set (a real Docker), else a podman service started here with the
 * test image (docs/ARCHITECTURE.md "Testing against real parts"). `benchDockerDriver(work)` pushes its rows into the shared table (bench-table.ts).
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadBlueprint } from '../../runtime/design/blueprint.ts';
import type { IIsolate, IIsolationDriver } from '../../runtime/isolation/isolation-driver.ts';
import { DockerDriver } from '../../runtime/isolation/docker/docker-driver.ts';
import { WorkerDriver } from '../../runtime/isolation/worker/worker-driver.ts';
import { hasTool } from '../testing/system-deps.ts';
import { TEST_IMAGE, ensureImage, startPodmanService } from '../testing/podman.ts';
import { ROOT, fmt, rows } from './bench-table.ts';
import { median, percentile } from './measure.ts';

const SPAWNS = Number(process.env.BENCH_DOCKER_SPAWNS ?? 10);
const IDLE_AGENTS = Number(process.env.BENCH_DOCKER_IDLE ?? 5);
const HAL_CALLS = 3000;

async function agent(work: string, id: string, body: string): Promise<string> {
  const dir = path.join(work, id);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'agent.json'), JSON.stringify({ id, version: '1.0.0', plugins: ['./main.js'], capabilities: ['sensor:temperature:read'] }));
  await writeFile(path.join(dir, 'main.js'), `export default { name: '${id}', start(ctx) { this.keep = setInterval(() => {}, 60000); ${body} }, stop() { clearInterval(this.keep); } };\n`);
  return path.join(dir, 'agent.json');
}

let nextPid = 1;
async function spawnUntilRunning(driver: IIsolationDriver, manifest: string, home: string): Promise<{ isolate: IIsolate; ms: number }> {
  const blueprint = await loadBlueprint(manifest);
  const t0 = performance.now();
  const isolate = await driver.start({ pid: String(nextPid++), blueprint, env: { OPENSTARRY_AGENT_ID: blueprint.manifest.id, OPENSTARRY_HOME: home } });
  isolate.channel.handle('state.load', () => null);
  isolate.channel.handle('hal.read', () => 21.5);
  await new Promise<void>((resolve, reject) => {
    isolate.channel.onNote('lifecycle', (p) => ((p as { state?: string }).state === 'running' ? resolve() : reject(new Error(`agent ${blueprint.manifest.id}: ${JSON.stringify(p)}`))));
    void isolate.exited.then((e) => reject(new Error(`agent ${blueprint.manifest.id} exited before running: ${JSON.stringify(e)}`)));
  });
  return { isolate, ms: performance.now() - t0 };
}

async function spawnLatency(driver: IIsolationDriver, manifest: string, home: string): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < SPAWNS; i++) {
    const { isolate, ms } = await spawnUntilRunning(driver, manifest, home);
    samples.push(ms);
    await isolate.terminate();
  }
  return samples;
}

async function halCallsPerSecond(driver: IIsolationDriver, manifest: string, home: string): Promise<number> {
  const { isolate } = await spawnUntilRunning(driver, manifest, home);
  try {
    const report = await new Promise<{ perSecond: number }>((resolve, reject) => {
      isolate.channel.onNote('log', (p) => {
        const m = (p as { message?: string }).message ?? '';
        if (m.startsWith('BENCH ')) resolve(JSON.parse(m.slice(6)) as { perSecond: number });
        else if (m.startsWith('BENCH-FAILED')) reject(new Error(m));
      });
    });
    return report.perSecond;
  } finally {
    await isolate.terminate();
  }
}

/** Spawn latency p50/p99, idle memory per agent and HAL calls/s of the docker driver, with the worker driver as baseline. */
export async function benchDockerDriver(work: string): Promise<void> {
  const external = process.env.BENCH_DOCKER_SOCKET ?? (process.env.DOCKER_HOST ? '' : undefined);
  if (external === undefined && !(hasTool('podman') && hasTool('runc'))) {
    rows.push({ metric: 'docker isolation', ours: 'skipped: no DOCKER_HOST and podman/runc not installed', base: '-', ratio: '-', target: '-', met: '-' });
    return;
  }
  const service = external === undefined ? await startPodmanService() : undefined;
  if (service) await ensureImage(TEST_IMAGE);
  const runDir = path.join(work, 'docker-run');
  const docker = await DockerDriver.open({
    ...(service ? { socketPath: service.socketPath, image: TEST_IMAGE } : external ? { socketPath: external } : {}),
    runDir,
    daemonId: `bench-${process.pid}`,
  });
  // The bundled worker entry when built (npm run bench builds first): from source every worker compiles TS.
  const bundledEntry = path.join(ROOT, 'dist', 'agent-host.cjs');
  const worker = new WorkerDriver(existsSync(bundledEntry) ? { entry: pathToFileURL(bundledEntry) } : {});
  const home = path.join(work, 'docker-homes', 'bench');
  try {
    const idle = await agent(work, 'bench-idle', '');
    const dockerSpawn = await spawnLatency(docker, idle, home);
    const workerSpawn = await spawnLatency(worker, idle, home);
    const d50 = median(dockerSpawn);
    const w50 = median(workerSpawn);
    rows.push({ metric: 'docker: spawn to running p50', ours: fmt(d50, 'ms'), base: `${fmt(w50, 'ms')} (worker)`, ratio: `${(d50 / w50).toFixed(1)}x`, target: '-', met: '-' });
    rows.push({ metric: 'docker: spawn to running p99', ours: fmt(percentile(dockerSpawn, 99), 'ms'), base: `${fmt(percentile(workerSpawn, 99), 'ms')} (worker)`, ratio: '-', target: '-', met: '-' });

    const idles: IIsolate[] = [];
    try {
      for (let i = 0; i < IDLE_AGENTS; i++) idles.push((await spawnUntilRunning(docker, await agent(work, `bench-idle-${i}`, ''), home)).isolate);
      await new Promise((r) => setTimeout(r, 2000));
      const memory = await Promise.all(idles.map(async (i) => (await i.usage()).memoryBytes));
      rows.push({ metric: `docker: idle agent memory (median of ${IDLE_AGENTS}, cgroup usage)`, ours: fmt(median(memory) / 1e6, 'MB'), base: '-', ratio: '-', target: '-', met: '-' });
    } finally {
      await Promise.all(idles.map((i) => i.terminate()));
    }

    const loop = `(async () => { try { await ctx.hal.getSensorData('temperature');
      const t0 = performance.now(); for (let i = 0; i < ${HAL_CALLS}; i++) await ctx.hal.getSensorData('temperature');
      ctx.log.info('BENCH ' + JSON.stringify({ perSecond: ${HAL_CALLS} / ((performance.now() - t0) / 1000) }));
    } catch (e) { ctx.log.info('BENCH-FAILED ' + e.message); } })();`;
    const reader = await agent(work, 'bench-hal', loop);
    const dockerRate = await halCallsPerSecond(docker, reader, home);
    const workerRate = await halCallsPerSecond(worker, reader, home);
    rows.push({ metric: 'docker: HAL calls/s (socket channel)', ours: `${Math.round(dockerRate)}/s`, base: `${Math.round(workerRate)}/s (worker)`, ratio: `${(workerRate / dockerRate).toFixed(2)}x`, target: '-', met: '-' });
  } finally {
    await docker.close();
    await worker.close();
    await service?.stop();
  }
}
