// Issue 11: a user outside the socket's group gets one line naming the group (exit 3); a member gets in. The real
// CLI (dist/openstarry.js) runs as throwaway users against a socket owned by a throwaway group.
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { asUser, requireAccounts, throwawayGroup, throwawayUser } from '../../scripts/testing/throwaway-accounts.ts';
import { CLI, requireBuild } from '../e2e/harness.ts';
import { ControlServer } from './control-server.ts';
import { guardingGroup, groupName, PACKAGED_SOCKET, permissionDeniedMessage } from './socket-group.ts';
import { FakeDaemonApi } from './test-kit.ts';

const eacces = () => Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });

t.test('groupName reads group(5), falling back to the number', async (t) => {
  const dir = t.testdir({ group: 'root:x:0:\nopenstarry:x:998:pi,admin\n# not a group\nbroken\nodd:x:notanumber:\n' });
  const file = path.join(dir, 'group');
  t.equal(await groupName(998, file), 'openstarry');
  t.equal(await groupName(0, file), 'root');
  t.equal(await groupName(4242, file), '4242', 'unknown gid: the number');
  t.equal(await groupName(998, path.join(dir, 'missing')), '998', 'no group file: the number');
});

t.test('guardingGroup: the socket\'s group, else the group of the first directory that can be stat\'ed', async (t) => {
  const groupFile = path.join(t.testdir({ group: 'openstarry:x:998:\nsockets:x:997:\n' }), 'group');
  const gids: Record<string, number> = { '/srv/run/d.sock': 997, '/srv/run': 998, '/srv': 0, '/': 0 };
  const readable = (blocked: readonly string[]) => async (p: string) => {
    if (blocked.includes(p)) throw eacces();
    return { gid: gids[p] ?? 0 };
  };
  t.equal(await guardingGroup('/srv/run/d.sock', { groupFile, stat: readable([]) }), 'sockets', 'socket visible: its group');
  t.equal(await guardingGroup('/srv/run/d.sock', { groupFile, stat: readable(['/srv/run/d.sock']) }), 'openstarry', 'directory not searchable: its group');
  const lost = async () => {
    throw Object.assign(new Error('EIO'), { code: 'EIO' });
  };
  t.equal(await guardingGroup(PACKAGED_SOCKET, { groupFile, stat: lost }), 'openstarry', 'nothing to stat on the packaged path: openstarry');
  t.equal(await guardingGroup('/elsewhere/d.sock', { groupFile, stat: lost }), 'of the socket');
  t.equal(permissionDeniedMessage(PACKAGED_SOCKET, 'openstarry'), 'permission denied on /run/openstarry/openstarryd.sock: add yourself to group openstarry');
  // A group that could not let anyone in is not named: joining it would not help.
  const modes: Record<string, number> = { '/root/x.sock': 0o140600, '/root': 0o40700, '/srv/run/d.sock': 0o140660, '/srv/run': 0o40750 };
  const withModes = (blocked: readonly string[]) => async (p: string) => {
    if (blocked.includes(p)) throw eacces();
    return { gid: gids[p] ?? 0, mode: modes[p] ?? 0o40755 };
  };
  t.equal(await guardingGroup('/root/x.sock', { groupFile, stat: withModes(['/root/x.sock']) }), undefined, '/root is 0700: no group to name');
  t.equal(await guardingGroup('/root/x.sock', { groupFile, stat: withModes([]) }), undefined, 'a 0600 socket: no group to name');
  t.equal(await guardingGroup('/srv/run/d.sock', { groupFile, stat: withModes(['/srv/run/d.sock']) }), 'openstarry', 'a 0750 directory: its group');
  t.equal(await guardingGroup('/srv/run/d.sock', { groupFile, stat: withModes([]) }), 'sockets', 'a 0660 socket: its group');
  t.equal(permissionDeniedMessage('/root/x.sock', undefined), 'permission denied on /root/x.sock: no group is let in there; ask whoever runs that daemon');
});

t.test('the daemon logs its socket\'s mode and group at start', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'osp-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const lines: string[] = [];
  const server = await ControlServer.listen({ socketPath: path.join(dir, 'd.sock'), api: new FakeDaemonApi(), log: (_level, m) => lines.push(m) });
  t.teardown(() => server.close());
  t.match(lines.join('\n'), new RegExp(`listening on ${server.socketPath} \\(mode 0660, group \\S+; directory mode 0700, group \\S+\\)`));
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function runAs(prefix: string[], cwd: string, args: string[]): Promise<Run> {
  // env -i: tap's process-info hook rides along in the environment (NODE_OPTIONS) and would try to write into the
  // checkout as the throwaway user; the CLI gets a clean environment, as from a login shell.
  const [cmd, ...rest] = [...prefix, 'env', '-i', `PATH=${process.env.PATH ?? '/usr/bin:/bin'}`, process.execPath, CLI, ...args];
  return new Promise((resolve) => {
    execFile(cmd as string, rest, { cwd, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

t.test('real users: outside the group one line and exit 3; a member gets in; no socket keeps the ENOENT message', async (t) => {
  if (!requireAccounts(t)) return;
  requireBuild();
  const group = throwawayGroup(t);
  const socketGroup = throwawayGroup(t); // a second one, to tell which of the two the message names
  const outsider = throwawayUser(t);
  const member = throwawayUser(t, [group.name, socketGroup.name]);

  // Like the packaged unit: <tmp>/run is RuntimeDirectory (0750, group openstarry), the socket 0660 in that group.
  const top = mkdtempSync(path.join(tmpdir(), 'osp-'));
  t.teardown(() => rmSync(top, { recursive: true, force: true }));
  chmodSync(top, 0o755);
  const runDir = path.join(top, 'run');
  mkdirSync(runDir);
  chownSync(runDir, 0, group.id);
  chmodSync(runDir, 0o750);
  const socket = path.join(runDir, 'openstarryd.sock');
  const server = await ControlServer.listen({ socketPath: socket, api: new FakeDaemonApi() });
  t.teardown(() => server.close());
  chownSync(socket, 0, socketGroup.id);

  const out = await runAs(asUser(outsider), top, ['ps', '--socket', socket]);
  const denied = `${permissionDeniedMessage(socket, group.name)}\n`;
  t.same(out, { code: 3, stdout: '', stderr: denied }, 'directory not searchable: exactly one line naming the directory\'s group');

  const ok = await runAs(asUser(member), top, ['ps', '--socket', socket]);
  t.equal(ok.code, 0, `a member lists the agents (${ok.stderr})`);
  t.match(ok.stdout, /thermostat/);

  // The directory open to all and root's: the socket's own mode refuses, and its group is the one named.
  chownSync(runDir, 0, 0);
  chmodSync(runDir, 0o755);
  const bySocket = await runAs(asUser(outsider), top, ['status', '--socket', socket]);
  t.same(bySocket, { code: 3, stdout: '', stderr: `${permissionDeniedMessage(socket, socketGroup.name)}\n` }, 'socket refused by its own mode: its group');

  // The daemon gone, its directory still there: today's "not running" message, not a permission one.
  await server.close();
  chownSync(runDir, 0, group.id);
  chmodSync(runDir, 0o750);
  const gone = await runAs(asUser(member), top, ['ps', '--socket', socket]);
  t.equal(gone.code, 3);
  t.equal(gone.stderr, `openstarry: cannot reach openstarryd at ${socket}: ENOENT: no socket there (is openstarryd running?)\n`);
});
