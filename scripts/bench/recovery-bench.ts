/** Spec 002 phase 1.3: the daemon SIGKILLed with N agents running; how long the next boot takes to bring them back. */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ControlClient } from '../../runtime/control/control-client.ts';
import { DAEMON, DAEMON_NODE_FLAGS, daemonEnv, fmt, rows } from './bench-table.ts';
import { sleep, startUntil, stop } from './measure.ts';

export async function benchRecovery(work: string, n: number): Promise<void> {
  const home = path.join(work, 'recovery');
  const env = await daemonEnv(home);
  const first = await startUntil(process.execPath, [...DAEMON_NODE_FLAGS, DAEMON], env, / ready in \d+ ms/);
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
  const second = await startUntil(process.execPath, [...DAEMON_NODE_FLAGS, DAEMON], env, / ready in \d+ ms/);
  const c2 = await ControlClient.connect(path.join(home, 'openstarryd.sock'));
  const status = await c2.call('status');
  c2.close();
  await stop(second.child);
  const phase = status.phases.find((p) => p.name === 'recovery');
  const restored = status.recovery?.restored.length ?? 0;
  rows.push({ metric: `recover ${n} agents after a daemon SIGKILL`, ours: fmt(second.ms, 'ms'), base: `phase ${fmt(phase?.durationMs ?? Number.NaN, 'ms')}`, ratio: '-', target: `${n} restored`, met: restored === n ? `yes (${restored})` : `NO (${restored})` });
}
