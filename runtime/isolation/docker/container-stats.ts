/**
 * CPU share from two container stats samples (Engine API `cpu_stats`): the container's CPU time over the host's
 * CPU time in the same interval, times the number of CPUs — i.e. the share of ONE core, as IsolateUsage wants
 * (a multi-threaded process can go above 100; `docker stats` shows the same number).
 */
export interface CpuSample {
  /** cpu_usage.total_usage, nanoseconds of CPU the container used since it started. */
  cpuNs: number;
  /** system_cpu_usage, nanoseconds of CPU time of the whole host (all cores) since boot. */
  systemNs: number;
  onlineCpus: number;
}

export function cpuPercentBetween(previous: CpuSample, current: CpuSample): number {
  const cpu = current.cpuNs - previous.cpuNs;
  const system = current.systemNs - previous.systemNs;
  if (!(cpu > 0) || !(system > 0)) return 0;
  const cpus = current.onlineCpus > 0 ? current.onlineCpus : 1;
  return Math.round((cpu / system) * cpus * 1000) / 10;
}
