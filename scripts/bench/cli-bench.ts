/**
 * Issue 12's instant CLI: one `openstarry ps` against a running daemon, wall time from spawn to exit, beside
 * `node -e 0` run in turn with it (same load, same disk cache), BENCH_CLI_ROUNDS times each (default 20), medians.
 * Runs `node dist/openstarry.js`: the README's tour calls the CLI so (its `alias openstarry=...`), and it is the file an
 * installed package's /usr/bin/openstarry points at.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { DAEMON, DAEMON_NODE_FLAGS, daemonEnv, measuredRow, ROOT, rows } from './bench-table.ts';
import { median, startUntil, stop } from './measure.ts';

const CLI = path.join(ROOT, 'dist', 'openstarry.js');

/** Milliseconds from spawning `node args` to its exit; a non-zero exit is a failed bench, not a figure. */
function wallTime(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(performance.now() - t0) : reject(new Error(`node ${args.join(' ')} exited ${code}: ${err}`))));
  });
}

export async function benchCliCall(work: string): Promise<void> {
  const rounds = Number(process.env.BENCH_CLI_ROUNDS ?? 20);
  const env = await daemonEnv(path.join(work, 'cli'));
  const daemon = await startUntil(process.execPath, [...DAEMON_NODE_FLAGS, DAEMON], env, / ready in \d+ ms/);
  try {
    // One of each first: the disk cache holds both before anything is counted.
    await wallTime(['-e', '0'], env);
    await wallTime([CLI, 'ps'], env);
    const ours: number[] = [];
    const base: number[] = [];
    for (let i = 0; i < rounds; i++) {
      base.push(await wallTime(['-e', '0'], env));
      ours.push(await wallTime([CLI, 'ps'], env));
    }
    rows.push(measuredRow({ metric: `CLI call (\`openstarry ps\`, node dist/openstarry.js) vs \`node -e 0\`, median of ${rounds}`, value: median(ours), unit: 'ms', baseline: median(base), target: { on: 'ratio', atMost: 1.5 } }));
  } finally {
    await stop(daemon.child);
  }
}
