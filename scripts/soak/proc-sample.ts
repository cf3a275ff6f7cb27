/**
 * What the soak run samples from /proc (proc(5)): a process's resident set (VmRSS of /proc/PID/status), the sum
 * over it and its descendants (children found through field 4, ppid, of each /proc/PID/stat), and its open file
 * descriptors (the entries of /proc/PID/fd). Worker agents are threads of the daemon, so their memory is in the
 * daemon's own RSS; process agents are children and only show in the tree's sum.
 */
import { readFile, readdir } from 'node:fs/promises';

export interface ProcSample {
  rssBytes: number;
  treeRssBytes: number;
  treeProcesses: number;
  fds: number;
}

async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

/** pid -> ppid for every process visible now (one that ends while we read is left out). */
async function parents(): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = await readFile(`/proc/${name}/stat`, 'utf8');
      // The command name is in parentheses and may hold spaces: the fields after the last ")" are state, ppid, ...
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      out.set(Number(name), ppid);
    } catch {
      // ended meanwhile
    }
  }
  return out;
}

export async function descendants(pid: number): Promise<number[]> {
  const map = await parents();
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const p = queue.shift() as number;
    for (const [child, parent] of map) {
      if (parent !== p) continue;
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

export async function sampleProcess(pid: number): Promise<ProcSample> {
  const rssBytes = await rssOf(pid);
  const fds = (await readdir(`/proc/${pid}/fd`)).length;
  let treeRssBytes = rssBytes;
  const kids = await descendants(pid);
  for (const kid of kids) treeRssBytes += await rssOf(kid).catch(() => 0);
  return { rssBytes, treeRssBytes, treeProcesses: 1 + kids.length, fds };
}
