/**
 * CPU and memory of a child process from Linux procfs, read by the daemon (proc(5)):
 *   /proc/<pid>/stat    fields 14 and 15 (utime, stime) in clock ticks; USER_HZ is 100 on every Linux ABI
 *                       Node runs on (x86-64, arm64, armhf), and Node has no sysconf(_SC_CLK_TCK) to ask
 *   /proc/<pid>/status  VmRSS in kB: what the agent costs the board, the figure `ps` and the OOM killer use
 */
import { readFile } from 'node:fs/promises';

export const CLOCK_TICKS_PER_SECOND = 100;

export interface ProcSample {
  /** utime + stime, seconds. */
  cpuSeconds: number;
  rssBytes: number;
}

/** Parses /proc/<pid>/stat: the command name (field 2) may hold spaces and parentheses, so split after the last ')'. */
export function parseStatCpuSeconds(stat: string): number | undefined {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the name, field 3 (state) is index 0: utime (14) is index 11, stime (15) index 12.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return Number.isFinite(utime) && Number.isFinite(stime) ? (utime + stime) / CLOCK_TICKS_PER_SECOND : undefined;
}

export function parseStatusRssBytes(status: string): number | undefined {
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  return kb === undefined ? undefined : Number(kb) * 1024;
}

/** Undefined when procfs is not there (not Linux) or the process is gone. */
export async function sampleProc(pid: number, procRoot = '/proc'): Promise<ProcSample | undefined> {
  try {
    const [stat, status] = await Promise.all([readFile(`${procRoot}/${pid}/stat`, 'utf8'), readFile(`${procRoot}/${pid}/status`, 'utf8')]);
    const cpuSeconds = parseStatCpuSeconds(stat);
    const rssBytes = parseStatusRssBytes(status);
    return cpuSeconds === undefined || rssBytes === undefined ? undefined : { cpuSeconds, rssBytes };
  } catch {
    return undefined;
  }
}
