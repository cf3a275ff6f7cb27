// End to end: state and agents survive a daemon SIGKILL (the journal restores what was running, hydrated from
// its snapshot); a clean shutdown brings back only restart-policy `always` agents; a truncated state file (a power
// cut mid-write) boots from the last-good backup and says so; SIGKILLs at random moments while agents write their
// state 100 times a second never leave a file that does not parse, nor a counter that goes back (issue 13, "What
// held"); a master delegates to workers through ctx.agents.
import { existsSync, readFileSync, statSync, truncateSync, watch, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { DaemonStatus, IAgentStatus, LogLine } from '../control/protocol.ts';
import { agentFixture, counterAgent as counter, counterAgentEvery, startDaemon, templatesWithConfig, tempDir, writeTree } from './harness.ts';

t.test('SIGKILL of the daemon: the agents that ran come back with their state', async (t) => {
  const dir = tempDir(t);
  writeTree(path.join(dir, 'agents', 'counter'), agentFixture({ id: 'counter', plugins: ['./main.js'] }, { 'main.js': counter }));
  writeTree(path.join(dir, 'agents', 'steady'), agentFixture({ id: 'steady', plugins: ['./main.js'], restart: { policy: 'always' } }, { 'main.js': counter }));
  const first = await startDaemon(t, { dir });
  for (const id of ['counter', 'steady']) t.equal((await first.cli('spawn', path.join(dir, 'agents', id, 'agent.json'))).code, 0);
  // Let a few coalesced writes (every 2 s) happen, then pull the plug.
  await new Promise((r) => setTimeout(r, 4500));
  first.child.kill('SIGKILL');
  await first.exited;

  const second = await startDaemon(t, { dir });
  const status = await second.json<DaemonStatus>('status');
  t.match(status.recovery, { previousRun: 'abnormal', stateFile: { source: 'file' } });
  t.same(status.recovery?.restored.map((r) => r.agentId).sort(), ['counter', 'steady'], 'both agents restored');
  const ps = await second.json<IAgentStatus[]>('ps');
  t.ok(['counter', 'steady'].every((id) => ps.some((a) => a.agentId === id && a.state === 'running')), 'running again');
  const resumed = (await second.jsonLines<LogLine>('logs', 'counter')).find((l) => l.message.startsWith('resumed from '));
  const from = Number(resumed?.message.slice('resumed from '.length));
  t.ok(from >= 50, `hydrated from its last saved snapshot (count ${from})`);

  // A clean stop: only the restart-policy `always` agent comes back.
  second.child.kill('SIGTERM');
  t.equal(await second.exited, 0);
  const third = await startDaemon(t, { dir });
  const after = await third.json<DaemonStatus>('status');
  t.match(after.recovery, { previousRun: 'clean' });
  t.same(after.recovery?.restored.map((r) => r.agentId), ['steady']);
});

/** Resolves when `name` appears in `dir` (inotify through fs.watch): a state write has begun. */
function nextWriteStarts(dir: string, name: string): Promise<void> {
  return new Promise((resolve) => {
    const watcher = watch(dir, (_event, file) => {
      if (file !== name) return;
      watcher.close();
      resolve();
    });
  });
}

t.test('SIGKILL at random moments during 100 Hz state writes: the state always parses, is restored, counters only go forward', async (t) => {
  const dir = tempDir(t);
  const ids = ['fast-a', 'fast-b'];
  for (const id of ids) writeTree(path.join(dir, 'agents', id), agentFixture({ id, plugins: ['./main.js'] }, { 'main.js': counterAgentEvery(10) }));
  const file = path.join(dir, 'home', 'state.json');
  const saved = (): Record<string, number> => {
    // What is on disk right after the kill must parse: the durable write never leaves half a file in its place.
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { agents: Record<string, { snapshot?: { count: number } }> };
    return Object.fromEntries(ids.map((id) => [id, doc.agents[id]?.snapshot?.count ?? 0]));
  };
  let d = await startDaemon(t, { dir });
  for (const id of ids) t.equal((await d.cli('spawn', path.join(dir, 'agents', id, 'agent.json'))).code, 0);
  let last: Record<string, number> = Object.fromEntries(ids.map((id) => [id, 0]));
  const kills = 4;
  let midWrite = 0;
  let afterFirst: Record<string, number> | undefined;
  for (let k = 1; k <= kills; k++) {
    // Odd kills: a random moment across the state DB's 2 s coalescing interval (state-db.ts). Even kills: the
    // instant the next write creates its temp file, so the kill lands inside a write (runtime/durable-file.ts steps 1-3)
    // rather than between two of them, where it almost always lands otherwise.
    const started = Date.now();
    if (k % 2 === 1) await new Promise((r) => setTimeout(r, 2000 + Math.floor(Math.random() * 2500)));
    else await nextWriteStarts(path.dirname(file), `${path.basename(file)}.tmp`);
    d.child.kill('SIGKILL');
    await d.exited;
    if (existsSync(`${file}.tmp`)) midWrite += 1;
    const onDisk = saved();
    t.ok(ids.every((id) => (onDisk[id] as number) >= (last[id] as number)), `kill ${k} after ${Date.now() - started} ms: on disk ${JSON.stringify(onDisk)}, never behind ${JSON.stringify(last)}`);

    d = await startDaemon(t, { dir });
    const status = await d.json<DaemonStatus>('status');
    t.match(status.recovery, { previousRun: 'abnormal', stateFile: { source: 'file' } }, `restart ${k}: the state file parsed (not the backup)`);
    t.same(status.recovery?.restored.map((r) => r.agentId).sort(), ids, `restart ${k}: both agents restored`);
    for (const id of ids) {
      let line: LogLine | undefined;
      await d.waitFor(`${id} to resume`, async () => (line = (await d.jsonLines<LogLine>('logs', id)).find((l) => l.message.startsWith('resumed from '))) !== undefined);
      t.equal(Number(line?.message.slice('resumed from '.length)), onDisk[id], `restart ${k}: ${id} resumed from what was on disk`);
    }
    last = onDisk;
    afterFirst ??= onDisk;
  }
  // Forward across the restarts, not a rate: a count per second depends on the machine's load (CI once read 348 and
  // 302 against a floor of 100 a kill, while a benchmark ran beside it).
  t.ok(ids.every((id) => (last[id] as number) > (afterFirst?.[id] as number)), `the counters moved forward across ${kills} kills (${midWrite} left a temp file: inside a write): ${JSON.stringify(afterFirst)} after the first, ${JSON.stringify(last)} after the last`);
});

t.test('a truncated state file boots from the last-good backup and status says so', async (t) => {
  const dir = tempDir(t);
  writeTree(path.join(dir, 'agents', 'counter'), agentFixture({ id: 'counter', plugins: ['./main.js'] }, { 'main.js': counter }));
  const first = await startDaemon(t, { dir });
  await first.cli('spawn', path.join(dir, 'agents', 'counter', 'agent.json'));
  await new Promise((r) => setTimeout(r, 4500));
  first.child.kill('SIGTERM');
  await first.exited;
  const file = path.join(first.home, 'state.json');
  truncateSync(file, Math.floor(statSync(file).size / 2)); // a power cut mid-write on a card without a journal
  const second = await startDaemon(t, { dir });
  const status = await second.json<DaemonStatus>('status');
  t.match(status.recovery, { stateFile: { source: 'backup', reason: /./ } });
  t.ok(status.degraded.includes('state-from-backup'));
  t.equal(status.state, 'ready');
});

t.test('ctx.agents: a master delegates to a worker template; ungranted calls are denied', async (t) => {
  const dir = tempDir(t);
  const { config, templates } = templatesWithConfig(dir, {
    worker: agentFixture({ id: 'worker', plugins: ['./main.js'], config: { job: 'idle' } }, { 'main.js': "export default { name: 'w', start(ctx) { ctx.log.info('worker up for ' + ctx.config.delegatedBy + ' job ' + ctx.config.job); this.t = setInterval(() => {}, 60000); }, stop() { clearInterval(this.t); } };" }),
    nosy: agentFixture({ id: 'nosy', plugins: ['./main.js'], capabilities: ['agents:worker:list'] }, { 'main.js': `export default { name: 'n', async start(ctx) {
      this.t = setInterval(() => {}, 60000);
      for (const [what, f] of [['spawn', () => ctx.agents.spawn('worker')], ['kill', () => ctx.agents.kill('1')], ['path', () => ctx.agents.spawn('/etc/passwd')]]) {
        try { await f(); ctx.log.info(what + ' ALLOWED'); } catch (e) { ctx.log.info(what + ' ' + e.code); }
      }
      ctx.log.info('sees ' + (await ctx.agents.list()).map((a) => a.template).join(','));
    }, stop() { clearInterval(this.t); } };` }),
  });
  // The shipped master, told to delegate to "worker" at start.
  const masterManifest = path.join(templates, 'master', 'agent.json');
  const m = JSON.parse(readFileSync(masterManifest, 'utf8')) as { config: Record<string, unknown> };
  m.config.workers = ['worker'];
  writeFileSync(masterManifest, JSON.stringify(m));
  const d = await startDaemon(t, { args: ['--config', config] });
  await d.waitFor('the delegated worker', async () => (await d.json<IAgentStatus[]>('ps')).some((a) => a.agentId === 'worker' && a.state === 'running'));
  t.match((await d.cli('logs', 'worker')).stdout, /worker up for master job idle/, 'spawned by template id with the config override merged');
  t.match((await d.cli('logs', 'master')).stdout, /delegated to worker/);
  t.equal((await d.cli('spawn', 'nosy')).code, 0);
  await d.waitFor('nosy to report', async () => /sees /.test((await d.cli('logs', 'nosy')).stdout));
  const out = (await d.cli('logs', 'nosy')).stdout;
  t.match(out, /spawn ERR_CAPABILITY_DENIED/);
  t.match(out, /kill ERR_CAPABILITY_DENIED/);
  t.match(out, /path ERR_INVALID_PARAMS/, 'paths are refused: template ids only');
  t.match(out, /sees worker\n/, 'list shows only the templates it may list');
});
