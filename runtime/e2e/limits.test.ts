// End to end (issue 13, finding 1): limits hold in every state. An agent whose start() never resolves while it
// allocates 1 MB every 10 ms and spins is stopped (memory-limit, cpu-limit or start-timeout, whichever wall it meets
// first) as a worker, a process and a wasm agent, and the daemon's memory stays bounded; an agent that merely never
// finishes starting is stopped with `start-timeout: ...` after agents.startTimeoutMs and counts as a crash (restart
// policy, then quarantine).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { ControlClient } from '../control/control-client.ts';
import type { IAgentStatus } from '../control/protocol.ts';
import type { RunningDaemon } from './harness.ts';
import { agentFixture, startDaemon, tempDir, templatesWithConfig, writeTree } from './harness.ts';

const latest = async (d: RunningDaemon, agentId: string) => (await d.json<IAgentStatus[]>('ps')).filter((a) => a.agentId === agentId).at(-1);

/** VmRSS of a process in MB (proc(5)); 0 once it is gone. */
function rssMb(pid: number | undefined): number {
  try {
    const kb = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? 0 : Math.round(Number(kb) / 1024);
  } catch {
    return 0;
  }
}

// start() never resolves: 1 MB (filled, so it is resident) every 10 ms, spinning 8 ms of each 10.
const HOG = `export default {
  name: 'hog',
  start() {
    const hog = [];
    return new Promise(() => {
      const tick = () => { hog.push(new Uint8Array(1 << 20).fill(7)); const end = Date.now() + 8; while (Date.now() < end); setTimeout(tick, 2); };
      tick();
    });
  },
};
`;

// The interval keeps the isolate's event loop alive: an unresolved promise alone lets the isolate end by itself.
const NEVER_STARTS = "export default { name: 'stuck', start() { setInterval(() => {}, 1000); return new Promise(() => {}); } };\n";

t.test('a hog that never finishes starting is stopped and the daemon stays bounded (worker, process, wasm)', async (t) => {
  const dir = tempDir(t);
  const { config } = templatesWithConfig(dir, {}, '  startTimeoutMs: 2000\n  usageIntervalMs: 500\n  cpuLimitWindowMs: 1000\n');
  const d = await startDaemon(t, { args: ['--config', config] });
  const agents = path.join(dir, 'agents');
  const before = rssMb(d.child.pid);
  for (const isolation of ['worker', 'process', 'wasm']) {
    const id = `hog-${isolation}`;
    writeTree(path.join(agents, id), agentFixture({ id, plugins: ['./main.js'], isolation, limits: { memoryMb: 32, cpuPercent: 20 } }, { 'main.js': HOG }));
    const startedAt = Date.now();
    // Not awaited: spawn answers at agents.startTimeoutMs at the latest; memory is watched from the first moment.
    const spawning = d.cli('spawn', path.join(agents, id, 'agent.json'));
    let peakDaemon = 0;
    let peakChild = 0;
    let s: IAgentStatus | undefined;
    // Watched for 12 s at most: without the limits in `starting`, the daemon (worker) or the child (process)
    // grows ~100 MB/s for as long as the agent lives.
    await d.waitFor(`${id} to be stopped`, async () => {
      s = await latest(d, id);
      peakDaemon = Math.max(peakDaemon, rssMb(d.child.pid));
      peakChild = Math.max(peakChild, rssMb(s?.osPid));
      return s?.state === 'crashed';
    }, 12_000).catch((err: Error) => t.fail(`${id} still ${s?.state} after 12 s (daemon RSS ${before} -> ${peakDaemon} MB, child ${peakChild} MB): ${err.message.split('\n')[0]}`));
    await spawning;
    const took = ((Date.now() - startedAt) / 1000).toFixed(1);
    t.comment(`${id}: ${s?.state} after ${took} s (${s?.reason}); daemon RSS ${before} -> peak ${peakDaemon} MB; child peak ${peakChild} MB`);
    t.match(s?.reason, /^(memory-limit|cpu-limit|start-timeout|out-of-memory)/, `${id}: ${s?.reason}`);
    t.ok(peakDaemon < before + 400, `${id}: daemon RSS bounded (${before} -> ${peakDaemon} MB)`);
    t.ok(peakChild < 600, `${id}: child RSS bounded (${peakChild} MB)`);
  }
  t.match(await latest(d, 'master'), { state: 'running', restarts: 0 }, 'the master is unaffected');
});

t.test('an agent not running after agents.startTimeoutMs is stopped as a crash: restart policy, then quarantine', async (t) => {
  const dir = tempDir(t);
  const { config } = templatesWithConfig(dir, {}, '  startTimeoutMs: 1000\n');
  const d = await startDaemon(t, { args: ['--config', config] });
  const agents = path.join(dir, 'agents');
  writeTree(path.join(agents, 'stuck'), agentFixture({ id: 'stuck', plugins: ['./main.js'], restart: { policy: 'on-failure', maxRestarts: 1, backoffMs: 50 } }, { 'main.js': NEVER_STARTS }));
  await d.cli('spawn', path.join(agents, 'stuck', 'agent.json'));
  await d.waitFor('stuck to be quarantined', async () => (await latest(d, 'stuck'))?.state === 'crashed', 15_000);
  const s = await latest(d, 'stuck');
  t.match(s, { state: 'crashed', restarts: 1, quarantined: true });
  t.match(s?.reason, /^quarantined: start-timeout: not running after 1000 ms; gave up after 1 restarts$/);
  t.match(d.log(), /agent stuck \(pid \d+\) quarantined .*restart series: 2 failure\(s\)/, 'the series is logged');
});

t.test('killing an agent that is still starting and whose stop() never resolves ends it within the grace (worker, process)', async (t) => {
  const dir = tempDir(t);
  const { config } = templatesWithConfig(dir, {}, '  startTimeoutMs: 30000\n'); // stopGraceMs: 2000
  const d = await startDaemon(t, { args: ['--config', config] });
  const agents = path.join(dir, 'agents');
  const main = "export default { name: 'deaf', start() { setInterval(() => {}, 1000); return new Promise(() => {}); }, stop() { return new Promise(() => {}); } };\n";
  for (const isolation of ['worker', 'process']) {
    const id = `deaf-${isolation}`;
    writeTree(path.join(agents, id), agentFixture({ id, plugins: ['./main.js'], isolation }, { 'main.js': main }));
    void d.cli('spawn', path.join(agents, id, 'agent.json'));
    await d.waitFor(`${id} to be starting`, async () => (await latest(d, id))?.state === 'starting');
    // Through the control client in this process, so the figure is the daemon's, not a CLI process start's.
    const started = Date.now();
    const kill = await ControlClient.callOnce(d.socket, 'killAgent', [id, 'SIGTERM']);
    t.comment(`${id}: kill answered after ${Date.now() - started} ms (grace 2000 ms): ${kill.reason}`);
    t.match(kill, { state: 'exited', reason: /^stopped by SIGTERM/ }, `${id} ended`);
    t.notOk((await d.json<IAgentStatus[]>('ps')).some((a) => a.agentId === id && a.state !== 'exited'), `${id} is gone`);
  }
});
