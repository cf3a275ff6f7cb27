// A home on a full disk (issue 13 "What held"), with ENOSPC from the real kernel: a 2 MiB tmpfs as the home
// (a tmpfs of fixed size: mount(8) "tmpfs" size=), filled to the last byte while an agent writes its state. The state file writes fail
// and are retried on the coalescing timer, status shows the failures, the agents keep running; SIGKILLed there, the
// daemon leaves the last good state file whole, and restarted with room again it restores from it and writes again.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { requirePart } from '../../scripts/testing/system-deps.ts';
import type { DaemonStatus, IAgentStatus, LogLine } from '../control/protocol.ts';
import { agentFixture, counterAgent as counter, startDaemon, tempDir, writeTree } from './harness.ts';

/** Writes zeros to `file` until the file system refuses (ENOSPC); returns the bytes written. */
function fill(file: string): number {
  const fd = openSync(file, 'w');
  let written = 0;
  try {
    for (const size of [64 * 1024, 4096, 1]) {
      const chunk = Buffer.alloc(size);
      for (;;) {
        try {
          written += writeSync(fd, chunk);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
          break;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return written;
}

function savedCount(file: string): number {
  return (JSON.parse(readFileSync(file, 'utf8')) as { agents: { counter: { snapshot: { count: number } } } }).agents.counter.snapshot.count;
}

t.test('a full 2 MiB home: state writes retried, agents keep running, state intact after SIGKILL and restored with room again', async (t) => {
  // Mounting needs root (CAP_SYS_ADMIN).
  if (!requirePart(t, process.getuid?.() === 0, 'mounting a tmpfs needs root (CAP_SYS_ADMIN): run as root, as CI does')) return;
  const dir = tempDir(t);
  const home = path.join(dir, 'home');
  mkdirSync(home);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', home]);
  t.teardown(() => void execFileSync('umount', ['-l', home]));
  writeTree(path.join(dir, 'agents', 'counter'), agentFixture({ id: 'counter', plugins: ['./main.js'] }, { 'main.js': counter }));
  // The socket outside the home, as the package puts it (/run/openstarry).
  const env = { OPENSTARRY_SOCKET: path.join(dir, 'openstarryd.sock') };
  const stateFile = path.join(home, 'state.json');

  const d = await startDaemon(t, { dir, env });
  t.equal((await d.cli('spawn', path.join(dir, 'agents', 'counter', 'agent.json'))).code, 0);
  await d.waitFor('a first state write', async () => {
    try {
      return savedCount(stateFile) > 0;
    } catch {
      return false;
    }
  });
  const filler = path.join(home, 'filler');
  const filled = fill(filler);
  t.ok(filled > 1024 * 1024, `the home filled up (${filled} bytes of filler)`);
  await d.waitFor('state writes to fail twice (retried)', async () => ((await d.json<DaemonStatus>('status')).stateDb?.failedWrites ?? 0) >= 2, 15_000);
  const status = await d.json<DaemonStatus>('status');
  t.equal(status.state, 'ready', 'still answering status');
  t.match(status.stateDb, { file: stateFile, readOnly: false, lastError: /ENOSPC|no space/ }, `status says why: ${status.stateDb?.lastError}`);
  const ps = await d.json<IAgentStatus[]>('ps');
  t.ok(['master', 'counter'].every((id) => ps.some((a) => a.agentId === id && a.state === 'running')), 'master and counter keep running');
  t.match(d.log(), /state file write failed; will retry/);
  t.notOk(readdirSync(home).some((f) => f.endsWith('.tmp')), 'no partial temp file left on the full disk');
  const onDisk = savedCount(stateFile);

  d.child.kill('SIGKILL');
  await d.exited;
  t.equal(savedCount(stateFile), onDisk, 'after SIGKILL the last good state file is whole');
  rmSync(filler);

  const again = await startDaemon(t, { dir, env });
  const after = await again.json<DaemonStatus>('status');
  t.match(after.recovery, { previousRun: 'abnormal', stateFile: { source: 'file' }, restored: [{ agentId: 'counter' }] }, 'restored from the state file');
  let line: LogLine | undefined;
  await again.waitFor('counter to resume', async () => (line = (await again.jsonLines<LogLine>('logs', 'counter')).find((l) => l.message.startsWith('resumed from '))) !== undefined);
  t.equal(Number(line?.message.slice('resumed from '.length)), onDisk, 'the counter resumed from what was saved before the disk filled');
  await again.waitFor('a state write with room again', async () => savedCount(stateFile) > onDisk, 15_000);
  t.equal((await again.json<DaemonStatus>('status')).stateDb?.failedWrites, 0, 'writes succeed again');
});
