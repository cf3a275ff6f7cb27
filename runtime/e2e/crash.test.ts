// End to end: crashes of every kind become `crashed` with a reason, restart policies apply, and neither the
// daemon nor the other agents are affected.
import path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import type { IAgentStatus } from '../control/protocol.ts';
import type { RunningDaemon } from './harness.ts';
import { agentFixture, startDaemon, tempDir, writeTree } from './harness.ts';

async function spawnFixture(t: Test, d: RunningDaemon, id: string, manifest: Record<string, unknown>, main: string) {
  const dir = tempDir(t);
  writeTree(path.join(dir, id), agentFixture({ id, plugins: ['./main.js'], ...manifest }, { 'main.js': main }));
  return d.cli('spawn', path.join(dir, id, 'agent.json'), '--json');
}

const state = async (d: RunningDaemon, agentId: string) => (await d.json<IAgentStatus[]>('ps')).filter((a) => a.agentId === agentId).at(-1);

t.test('crash kinds are reported with their reason; the master keeps running', async (t) => {
  const d = await startDaemon(t);
  // eats-memory ends by whichever of its two walls it meets first: V8's heap limit in the worker (out-of-memory) or the
  // supervisor's usage sample above limits.memoryMb (memory-limit); which one is a race on a loaded machine.
  const cases: [string, Record<string, unknown>, string, RegExp][] = [
    ['throws-in-start', {}, "export default { name: 'x', start() { throw new Error('bad wiring'); } };", /ERR_PLUGIN_START_FAILED: plugin "x" failed to start: bad wiring/],
    ['imports-fs', {}, "import fs from 'node:fs';\nexport default { name: 'x', start() { fs.readFileSync('/dev/gpiomem'); } };", /ERR_ISOLATE_DENIED: import of "node:fs" .* is refused: agents have no file-system access/],
    ['rejects-later', {}, "export default { name: 'x', start() { setTimeout(() => Promise.reject(new Error('late')), 20); } };", /uncaught error: late/],
    ['eats-memory', { limits: { memoryMb: 16 } }, "export default { name: 'x', start() { const hog = []; const grow = () => { for (let i = 0; i < 2e4; i++) hog.push({ i, s: 'x'.repeat(64) + i }); setImmediate(grow); }; grow(); } };", /out-of-memory|memory-limit: using \d+ MB, limit 16 MB/],
  ];
  for (const [id, manifest, main, reason] of cases) {
    const r = await spawnFixture(t, d, id, manifest, main);
    if (id === 'throws-in-start' || id === 'imports-fs') {
      t.equal(r.code, 1, `${id}: spawn fails`);
      t.match(r.stderr, /crashed/, `${id}: says it crashed`);
    }
    await d.waitFor(`${id} to crash`, async () => (await state(d, id))?.state === 'crashed');
    t.match((await state(d, id))?.reason, reason, `${id}: reason`);
  }
  t.match(await state(d, 'master'), { state: 'running', restarts: 0 }, 'the master agent is unaffected');
  t.equal((await d.cli('spawn', 'hello-sensor')).code, 0, 'the daemon still spawns agents');
});

t.test('restart policy on-failure: backoff, restarts counted, then stays crashed', async (t) => {
  const d = await startDaemon(t);
  const r = await spawnFixture(t, d, 'crashy', { restart: { policy: 'on-failure', maxRestarts: 2, backoffMs: 50 } },
    "export default { name: 'c', start(ctx) { ctx.log.info('starting'); setTimeout(() => { throw new Error('sensor bus fault'); }, 30); } };");
  t.equal(r.code, 0, r.stderr);
  await d.waitFor('crashy to give up', async () => (await state(d, 'crashy'))?.state === 'crashed');
  t.match(await state(d, 'crashy'), { restarts: 2, reason: /uncaught error: sensor bus fault; gave up after 2 restarts/ });
  const logs = await d.cli('logs', 'crashy');
  t.equal(logs.stdout.match(/starting/g)?.length, 3, 'started three times');
  t.match(d.log(), /agent crashy \(pid \d+\) restarts in 50 ms/);
  t.match(d.log(), /restarts in 100 ms/, 'backoff doubles');
});

t.test('restart policy always brings back an agent that ended by itself', async (t) => {
  const d = await startDaemon(t);
  await spawnFixture(t, d, 'oneshot', { restart: { policy: 'always', maxRestarts: 1, backoffMs: 20 } }, "export default { name: 'o', start(ctx) { ctx.log.info('did my job'); } };");
  await d.waitFor('oneshot to end for good', async () => (await state(d, 'oneshot'))?.state === 'exited');
  t.match(await state(d, 'oneshot'), { restarts: 1, exitCode: 0 });
});
