/**
 * Is stderr the journal? systemd.exec(5) "JOURNAL_STREAM": when a service's stdout/stderr is connected to journald,
 * systemd sets JOURNAL_STREAM to "<device>:<inode>" (decimal) of that stream; a process whose stderr has the same
 * device and inode (fstat) logs straight to the journal and should use sd-daemon(3)'s "<N>" priority prefixes
 * instead of timestamps (sd_journal_stream_fd(3)). A redirected or piped stderr no longer matches, so a child
 * that inherited the variable is not fooled.
 */
import { fstatSync } from 'node:fs';

export function stderrIsJournal(env: Readonly<Record<string, string | undefined>> = process.env, fd = 2): boolean {
  const match = /^(\d+):(\d+)$/.exec(env.JOURNAL_STREAM ?? '');
  if (!match) return false;
  try {
    // bigint: an inode number can exceed 2^53 on some file systems.
    const st = fstatSync(fd, { bigint: true });
    return st.dev === BigInt(match[1] as string) && st.ino === BigInt(match[2] as string);
  } catch {
    return false; // fd 2 closed
  }
}
