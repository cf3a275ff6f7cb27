/**
 * Worker agent spawn -> running (p50/p99) against a bare worker_thread's first message, with and without a warm
 * spare (agents.warmSpares: 1), and the control socket's listAgents round trip (p50/p99), on the daemon bundle.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { ControlClient } from '../../runtime/control/control-client.ts';
import { DAEMON, DAEMON_NODE_FLAGS, daemonEnv, fmt, rows, warmConfig } from './bench-table.ts';
import { percentile, sleep, startUntil, stop } from './measure.ts';

const SPAWNS = Number(process.env.BENCH_SPAWNS ?? 60);

async function bareWorkerStart(): Promise<number> {
  const t0 = performance.now();
  const w = new Worker("require('node:worker_threads').parentPort.postMessage('up')", { eval: true });
  await new Promise((r) => w.once('message', r));
  const ms = performance.now() - t0;
  await w.terminate();
  return ms;
}

export async function benchSpawnAndRoundTrip(work: string, warm: boolean): Promise<void> {
  const agentDir = path.join(work, 'bench-agent');
  await mkdir(agentDir, { recursive: true });
  await writeFile(path.join(agentDir, 'agent.json'), JSON.stringify({ id: 'bench-idle', version: '1.0.0', plugins: ['./idle.js'] }));
  await writeFile(path.join(agentDir, 'idle.js'), "export default { name: 'idle', start() { this.t = setInterval(() => {}, 60000); }, stop() { clearInterval(this.t); } };\n");
  const home = path.join(work, warm ? 'spawn-warm' : 'spawn');
  const env = await daemonEnv(home);
  const daemon = await startUntil(process.execPath, warm ? [...DAEMON_NODE_FLAGS, DAEMON, '--config', await warmConfig(work)] : [...DAEMON_NODE_FLAGS, DAEMON], env, / ready in \d+ ms/);
  const label = warm ? ' (warmSpares: 1)' : '';
  const client = await ControlClient.connect(path.join(home, 'openstarryd.sock'));
  try {
    const spawnMs: number[] = [];
    const workerMs: number[] = [];
    // 60 pairs, interleaved: with 20 the p50 ratio moved by ±0.05 from run to run on the same build (2026-12-06).
    for (let i = 0; i < SPAWNS; i++) {
      workerMs.push(await bareWorkerStart());
      // Give the driver the time a real spawn rate would: a warm spare needs ~40 ms to be booted again.
      if (warm) await sleep(100);
      const t0 = performance.now();
      const s = await client.call('spawnAgent', [path.join(agentDir, 'agent.json')]);
      spawnMs.push(performance.now() - t0);
      if (s.state !== 'running') throw new Error(`bench agent did not run: ${JSON.stringify(s)}`);
      await client.call('killAgent', [s.pid, 'SIGKILL']);
    }
    const p50 = percentile(spawnMs, 50);
    rows.push({ metric: `spawn -> running, worker agent p50${label}`, ours: fmt(p50, 'ms'), base: fmt(percentile(workerMs, 50), 'ms'), ratio: `${(p50 / percentile(workerMs, 50)).toFixed(2)}x`, target: '<= 1.3x', met: p50 / percentile(workerMs, 50) <= 1.3 ? 'yes' : 'NO' });
    rows.push({ metric: `spawn -> running, worker agent p99${label}`, ours: fmt(percentile(spawnMs, 99), 'ms'), base: fmt(percentile(workerMs, 99), 'ms'), ratio: `${(percentile(spawnMs, 99) / percentile(workerMs, 99)).toFixed(2)}x`, target: '-', met: '-' });
    if (warm) return;

    for (let i = 0; i < 200; i++) await client.call('listAgents'); // warm up
    const rtt: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const t0 = performance.now();
      await client.call('listAgents');
      rtt.push(performance.now() - t0);
    }
    rows.push({ metric: 'listAgents round trip p50', ours: fmt(percentile(rtt, 50), 'ms'), base: '-', ratio: '-', target: '-', met: '-' });
    const p99 = percentile(rtt, 99);
    rows.push({ metric: 'listAgents round trip p99', ours: fmt(p99, 'ms'), base: '-', ratio: '-', target: '<= 5 ms', met: p99 <= 5 ? 'yes' : 'NO' });
  } finally {
    client.close();
    await stop(daemon.child);
  }
}
