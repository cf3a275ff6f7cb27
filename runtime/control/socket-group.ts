/**
 * Who may use the control socket, in words a person can act on (issue 11, README "On a board"): the socket is mode
 * 0660 and the packaged unit's RuntimeDirectory /run/openstarry is 0750, both group `openstarry`, so a user outside
 * that group is refused by connect(2) with EACCES — by the socket's own mode, or earlier by a directory on the way
 * that they may not search (path_resolution(7)). The CLI then names the group that would let them in.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { errnoCode } from './stale-socket.ts';

/** The packaged unit's socket (README "On a board"); its group is `openstarry` even when nothing can be stat'ed. */
export const PACKAGED_SOCKET = '/run/openstarry/openstarryd.sock';
export const PACKAGED_GROUP = 'openstarry';

export interface GroupLookupOptions {
  /** group(5) database; tests point it elsewhere. */
  groupFile?: string;
  stat?: (p: string) => Promise<{ gid: number; mode?: number }>;
}

/** connect(2) errors that mean "not allowed" rather than "nobody there". */
export function isPermissionError(err: unknown): boolean {
  const code = errnoCode(err);
  return code === 'EACCES' || code === 'EPERM';
}

/** The name of group `gid` in group(5) (`name:password:gid:members`), or the number when it has none. */
export async function groupName(gid: number, groupFile = '/etc/group'): Promise<string> {
  let text: string;
  try {
    text = await readFile(groupFile, 'utf8');
  } catch {
    return String(gid);
  }
  for (const line of text.split('\n')) {
    const [name, , id] = line.split(':');
    if (name && id !== undefined && Number(id) === gid && /^\d+$/.test(id)) return name;
  }
  return String(gid);
}

/**
 * The group that guards `socketPath` for this user: the socket's own when it can be stat'ed, else the group of the
 * nearest directory on its path that can be (stat(2) needs search permission on every directory above the file, so
 * the first one we can stat is the one we may not search). Undefined when that group could not let anyone in either
 * (the socket not group-writable, the directory not group-searchable: `/root/x.sock` must not say "join root").
 */
export async function guardingGroup(socketPath: string, options: GroupLookupOptions = {}): Promise<string | undefined> {
  const statOf = options.stat ?? stat;
  let target = path.resolve(socketPath);
  // connect(2) needs write permission on the socket, and search permission on each directory above it.
  let needed = 0o020;
  for (;;) {
    try {
      const st = await statOf(target);
      if (st.mode !== undefined && (st.mode & needed) === 0) return undefined;
      return await groupName(st.gid, options.groupFile);
    } catch (err) {
      const parent = path.dirname(target);
      if (!isPermissionError(err) || parent === target) break;
      target = parent;
      needed = 0o010;
    }
  }
  return path.resolve(socketPath) === PACKAGED_SOCKET ? PACKAGED_GROUP : 'of the socket';
}

/** The one line the CLI prints for EACCES/EPERM on connect (issue 11's wording when a group would help). */
export function permissionDeniedMessage(socketPath: string, group: string | undefined): string {
  if (group === undefined) return `permission denied on ${socketPath}: no group is let in there; ask whoever runs that daemon`;
  return `permission denied on ${socketPath}: add yourself to group ${group}`;
}
