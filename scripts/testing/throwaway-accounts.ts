/**
 * Real users and groups for tests of who may do what (the control socket's group, first-boot file owners): made with
 * groupadd/useradd (Debian's `passwd` package) and removed in the test's teardown. Needs root; like a missing tool
 * (system-deps.ts), not being root is a failure under OPENSTARRY_REQUIRE_SYSTEM_DEPS=1 and a visible skip otherwise.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Test } from 'tap';
import { requireTool } from './system-deps.ts';

export interface Account {
  name: string;
  id: number;
}

/** True when running as root with groupadd/useradd/setpriv; otherwise fails (CI) or skips and returns false. */
export function requireAccounts(t: Test): boolean {
  if (process.getuid?.() !== 0) {
    const message = 'needs root to create throwaway users and groups';
    if (process.env.OPENSTARRY_REQUIRE_SYSTEM_DEPS === '1') t.fail(message);
    else t.pass(`SKIP: ${message}`, { skip: message });
    return false;
  }
  return requireTool(t, 'useradd', 'passwd') && requireTool(t, 'groupadd', 'passwd') && requireTool(t, 'setpriv', 'util-linux');
}

/** A name no real account has: `ost` + 8 hex digits (group(5) names stay under 32 characters). */
function freshName(): string {
  return `ost${randomBytes(4).toString('hex')}`;
}

function idOf(database: 'group' | 'passwd', name: string): number {
  const line = execFileSync('getent', [database, name], { encoding: 'utf8' });
  return Number(line.split(':')[2]);
}

export function throwawayGroup(t: Test): Account {
  const name = freshName();
  execFileSync('groupadd', ['--system', name]);
  t.teardown(() => execFileSync('groupdel', [name]));
  return { name, id: idOf('group', name) };
}

/** A system user without a home or a login shell, in `groups` (supplementary) besides the default group. */
export function throwawayUser(t: Test, groups: readonly string[] = []): Account {
  const name = freshName();
  execFileSync('useradd', ['--system', '--no-create-home', '--no-user-group', '--shell', '/usr/sbin/nologin', ...(groups.length ? ['--groups', groups.join(',')] : []), name]);
  t.teardown(() => execFileSync('userdel', [name]));
  return { name, id: idOf('passwd', name) };
}

/** argv prefix that runs a command as `user` with the groups group(5) gives it (setpriv(1) --init-groups). */
export function asUser(user: Account): string[] {
  const gid = Number(execFileSync('id', ['-g', user.name], { encoding: 'utf8' }).trim());
  return ['setpriv', `--reuid=${user.id}`, `--regid=${gid}`, '--init-groups', '--'];
}
