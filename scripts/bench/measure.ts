/** Small measuring helpers for the benchmarks: percentiles, child processes, RSS from /proc. */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';

export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

export const median = (s: readonly number[]): number => percentile(s, 50);

/** Starts a process and resolves with the time (ms) until `pattern` appears on its stdout or stderr. */
export function startUntil(cmd: string, args: string[], env: NodeJS.ProcessEnv, pattern: RegExp, timeoutMs = 20_000): Promise<{ child: ChildProcess; ms: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let seen = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')}: no ${pattern} within ${timeoutMs} ms; output:\n${seen}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      if (pattern.test(seen)) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.stderr?.off('data', onData);
        child.stdout?.resume();
        child.stderr?.resume();
        resolve({ child, ms: performance.now() - t0 });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (!pattern.test(seen)) reject(new Error(`${cmd} exited with ${code} before ${pattern}; output:\n${seen}`));
    });
  });
}

export async function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  await exited;
}

export async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]);
  return kb * 1024;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * How many times a lean row is repeated (its median is reported): BENCH_ROUNDS, else 5 for a fast row and 3 for
 * a slow one (one that waits tens of seconds per round).
 */
export function rounds(speed: 'fast' | 'slow', env: NodeJS.ProcessEnv = process.env): number {
  const given = Number(env.BENCH_ROUNDS);
  return Number.isInteger(given) && given > 0 ? given : speed === 'fast' ? 5 : 3;
}

/** USER_HZ: the unit of /proc/PID/stat's times (proc(5)); `getconf CLK_TCK`, 100 on Linux x86-64 and arm64. */
let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** CPU seconds a process has used, all its threads (utime + stime, fields 14 and 15 of proc(5)'s /proc/PID/stat). */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may hold spaces: fields[0] is field 3 (state).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
}

/** Waits for processes started together; if one fails to start, the others are stopped (no stray process). */
export async function startedTogether<T extends readonly Promise<{ child: ChildProcess }>[]>(starts: T): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const settled = await Promise.allSettled(starts);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await Promise.all(settled.map((s) => (s.status === 'fulfilled' ? stop(s.value.child, 'SIGKILL') : undefined)));
    throw failed.reason;
  }
  return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as { -readonly [K in keyof T]: Awaited<T[K]> };
}

/**
 * Boots `ours` and `base` in turn, `n` times each after one untimed round (the disk cache then holds both), each
 * stopped before the next starts; resolves with the medians of their times. `round` is 0 for the untimed one.
 */
export async function bootInTurn(n: number, ours: (round: number) => Promise<{ child: ChildProcess; ms: number }>, base: (round: number) => Promise<{ child: ChildProcess; ms: number }>): Promise<{ ours: number; base: number }> {
  const times = { ours: [] as number[], base: [] as number[] };
  for (let round = 0; round <= n; round++) {
    for (const [which, start] of [['base', base], ['ours', ours]] as const) {
      const started = await start(round);
      await stop(started.child);
      if (round > 0) times[which].push(started.ms);
    }
  }
  return { ours: median(times.ours), base: median(times.base) };
}
