// A read-only home (issue 13 "Also"), with EROFS from the real kernel: a tmpfs remounted read-only before the boot
// (an SD card the kernel remounted read-only after an error, a common Pi failure), and a read-only bind mount laid
// over the home while the daemon runs. The daemon boots or keeps running with its agents' state in memory, answers
// `status` with `state-readonly` and the state file's path, runs the master agent, and leaves every byte that was
// on disk as it was — no truncation, no rename over it, no temp file. Writable again: the flag clears by itself.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { requirePart } from '../../scripts/testing/system-deps.ts';
import type { DaemonStatus, IAgentStatus, LogLine } from '../control/protocol.ts';
import { agentFixture, counterAgent as counter, startDaemon, tempDir, writeTree } from './harness.ts';

function sh(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: 'pipe' });
}

/** Mounting needs root (CAP_SYS_ADMIN); mount(8), tmpfs(5). */
function canMount(t: Test): boolean {
  return requirePart(t, process.getuid?.() === 0, 'mounting a tmpfs needs root (CAP_SYS_ADMIN): run as root, as CI does');
}

/** Every regular file under `dir` (sockets aside) with its SHA-256: what "nothing lost" is checked against. */
function listing(dir: string, base = dir): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir)) {
    const file = path.join(dir, name);
    const st = statSync(file);
    if (st.isDirectory()) Object.assign(out, listing(file, base));
    else if (st.isFile()) out[path.relative(base, file)] = createHash('sha256').update(readFileSync(file)).digest('hex');
  }
  return out;
}

async function resumedFrom(d: Awaited<ReturnType<typeof startDaemon>>, agent: string): Promise<number> {
  let line: LogLine | undefined;
  await d.waitFor(`${agent} to start`, async () => (line = (await d.jsonLines<LogLine>('logs', agent)).find((l) => l.message.startsWith('resumed from '))) !== undefined);
  return Number(line?.message.slice('resumed from '.length));
}

t.test('read-only from boot: boots, runs the master and agents in memory, says state-readonly, changes nothing on disk', async (t) => {
  if (!canMount(t)) return;
  const dir = tempDir(t);
  const home = path.join(dir, 'home');
  mkdirSync(home);
  sh('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', home]);
  t.teardown(() => sh('umount', ['-l', home]));
  writeTree(path.join(dir, 'agents', 'counter'), agentFixture({ id: 'counter', plugins: ['./main.js'] }, { 'main.js': counter }));
  const manifest = path.join(dir, 'agents', 'counter', 'agent.json');
  const env = { OPENSTARRY_SOCKET: path.join(dir, 'openstarryd.sock') };

  const first = await startDaemon(t, { dir, env });
  t.equal((await first.cli('spawn', manifest)).code, 0);
  await new Promise((r) => setTimeout(r, 2500)); // a coalesced state write or two
  first.child.kill('SIGTERM');
  t.equal(await first.exited, 0);
  const before = listing(home);
  t.ok('state.json' in before && 'mqtt-queue/outbound.log' in before, `the first run wrote its files (${Object.keys(before).join(', ')})`);
  const saved = (JSON.parse(readFileSync(path.join(home, 'state.json'), 'utf8')) as { agents: { counter: { snapshot: { count: number } } } }).agents.counter.snapshot.count;

  sh('mount', ['-o', 'remount,ro', home]);
  const second = await startDaemon(t, { dir, env });
  const status = await second.json<DaemonStatus>('status');
  t.equal(status.state, 'ready');
  t.ok(status.degraded.includes('state-readonly'), `degraded: ${status.degraded.join(', ')}`);
  t.match(status.stateDb, { file: path.join(home, 'state.json'), readOnly: true, lastError: /EROFS/ });
  t.match((status.link as unknown as { queue: { persistError?: string } }).queue.persistError, /read-only/, 'the MQTT queue works in memory');
  t.match((await second.cli('status')).stdout, /state: +\S+state\.json is read-only/);
  const ps = await second.json<IAgentStatus[]>('ps');
  t.ok(ps.some((a) => a.agentId === 'master' && a.state === 'running'), 'the master agent runs');
  t.equal((await second.cli('spawn', manifest)).code, 0, 'an agent can be spawned');
  t.equal(await resumedFrom(second, 'counter'), saved, 'hydrated from the state on the read-only card');
  await new Promise((r) => setTimeout(r, 2500)); // its state changes, the flush timer tries (and fails) to write
  t.ok((await second.json<IAgentStatus[]>('ps')).some((a) => a.agentId === 'counter' && a.state === 'running'), 'it keeps running');
  second.child.kill('SIGTERM');
  t.not(await second.exited, null, 'it stops');
  t.same(listing(home), before, 'every file as it was: nothing truncated, replaced or left half-written');

  sh('mount', ['-o', 'remount,rw', home]);
  const third = await startDaemon(t, { dir, env });
  const after = await third.json<DaemonStatus>('status');
  t.notOk(after.degraded.includes('state-readonly'), 'writable again: no flag');
  t.match(after.recovery, { stateFile: { source: 'file' } }, 'the state file loads as it was');
});

t.test('read-only while running (a read-only bind mount over the home): degrades, keeps running, recovers when writable', async (t) => {
  if (!canMount(t)) return;
  const dir = tempDir(t);
  const home = path.join(dir, 'home');
  writeTree(path.join(dir, 'agents', 'counter'), agentFixture({ id: 'counter', plugins: ['./main.js'] }, { 'main.js': counter }));
  const env = { OPENSTARRY_SOCKET: path.join(dir, 'openstarryd.sock') };
  const d = await startDaemon(t, { dir, env });
  t.equal((await d.cli('spawn', path.join(dir, 'agents', 'counter', 'agent.json'))).code, 0);
  await resumedFrom(d, 'counter');
  await new Promise((r) => setTimeout(r, 2500));
  const stateFile = path.join(home, 'state.json');
  // Files the daemon holds open for writing (the MQTT queue) keep the underlying mount busy, so `remount,ro` of the
  // home itself would be refused; a read-only bind mount laid over it makes every new open through the path fail
  // with EROFS, as a card remounted read-only by the kernel does.
  sh('mount', ['--bind', home, home]);
  let bound = true;
  t.teardown(() => void (bound && sh('umount', ['-l', home])));
  sh('mount', ['-o', 'remount,bind,ro', home]);
  await d.waitFor('state-readonly', async () => (await d.json<DaemonStatus>('status')).degraded.includes('state-readonly'), 10_000);
  const status = await d.json<DaemonStatus>('status');
  t.match(status.stateDb, { file: stateFile, readOnly: true, lastError: /EROFS/ });
  t.equal(status.state, 'ready', 'still answering status');
  const ps = await d.json<IAgentStatus[]>('ps');
  t.ok(['master', 'counter'].every((id) => ps.some((a) => a.agentId === id && a.state === 'running')), 'master and counter still run');
  t.notOk(readdirSync(home).some((f) => f.endsWith('.tmp')), 'no temp file left');
  t.doesNotThrow(() => JSON.parse(readFileSync(stateFile, 'utf8')), 'the state file on disk is whole');

  sh('umount', [home]);
  bound = false;
  await d.waitFor('the flag to clear', async () => !(await d.json<DaemonStatus>('status')).degraded.includes('state-readonly'), 10_000);
  const recovered = await d.json<DaemonStatus>('status');
  t.ok((recovered.stateDb?.failedWrites ?? 0) >= 1, `writes failed while read-only (${recovered.stateDb?.failedWrites}) and then succeeded`);
  t.equal(recovered.stateDb?.lastError, undefined);
  t.match(d.log(), /state file writes recovered/);
});
