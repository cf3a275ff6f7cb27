/**
 * Issue 12 asks for Node-RED 4 beside us, reported and not a target, so the README can state the comparison
 * honestly: its own `npm install node-red@4` in a cache folder (never a dependency of this repository:
 * $OPENSTARRY_BENCH_CACHE, else $XDG_CACHE_HOME or ~/.cache, then openstarry-bench/node-red; installed on first
 * use), started on this Node with a throwaway userDir (no flows: its editor and runtime only) on a free port,
 * measured the way our rows are, beside the daemon in the same bench:
 *
 *   idle RSS    both sampled 20 s after their spawn, rounds('slow') side by side, medians
 *   boot        the daemon to READY=1 at a NOTIFY_SOCKET listener vs Node-RED to its "Started flows" log line,
 *               in turn after one untimed run of each, rounds('fast'), medians
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startNotifyListener } from '../testing/notify-listener.ts';
import { hasTool } from '../testing/system-deps.ts';
import { DAEMON, DAEMON_NODE_FLAGS, daemonEnv, measuredRow, rows, skippedRow } from './bench-table.ts';
import { bootInTurn, median, rounds, rssBytes, sleep, startedTogether, startUntil, stop } from './measure.ts';
import { bootToReady } from './notify-boot.ts';

const run = promisify(execFile);
const MB = 2 ** 20;

export function nodeRedDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.OPENSTARRY_BENCH_CACHE ?? env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'openstarry-bench', 'node-red');
}

/** red.js of the cached install, installing node-red@4 first when it is not there. */
async function ensureNodeRed(dir: string): Promise<{ red: string; version: string }> {
  const pkg = path.join(dir, 'node_modules', 'node-red', 'package.json');
  if (!existsSync(pkg)) {
    await mkdir(dir, { recursive: true });
    if (!existsSync(path.join(dir, 'package.json'))) await writeFile(path.join(dir, 'package.json'), '{ "private": true }\n');
    console.log(`installing node-red@4 into ${dir} (once)`);
    await run('npm', ['install', '--no-audit', '--no-fund', '--omit=dev', 'node-red@4'], { cwd: dir, timeout: 600_000 });
  }
  const version = (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
  return { red: path.join(dir, 'node_modules', 'node-red', 'red.js'), version };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject).listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function startNodeRed(red: string, userDir: string) {
  await mkdir(userDir, { recursive: true });
  const env = { ...process.env };
  delete env.NOTIFY_SOCKET;
  return startUntil(process.execPath, [red, '--userDir', userDir, '--port', String(await freePort())], env, /Started flows/, 120_000);
}

export async function benchNodeRed(work: string): Promise<void> {
  const label = 'Node-RED 4';
  if (!hasTool('npm') || !hasTool('python3')) {
    rows.push(skippedRow(`${label} (reported)`, 'npm and python3 are needed (apt-get install npm python3)', 'reported'));
    return;
  }
  let nodeRed: { red: string; version: string };
  try {
    nodeRed = await ensureNodeRed(nodeRedDir());
  } catch (err) {
    rows.push(skippedRow(`${label} (reported)`, `npm install node-red@4 failed: ${String((err as Error).message).split('\n')[0]}`, 'reported'));
    return;
  }
  const name = `Node-RED ${nodeRed.version}`;

  // Idle RSS, side by side, 20 s after spawn.
  const slow = rounds('slow');
  const after = Number(process.env.BENCH_IDLE_RSS_SECONDS ?? 20) * 1000;
  const rss = await Promise.all(
    Array.from({ length: slow }, async (_, i) => {
      const t0 = performance.now();
      const [daemon, red] = await startedTogether([startUntil(process.execPath, [...DAEMON_NODE_FLAGS, DAEMON], await daemonEnv(path.join(work, `nr-daemon-${i}`)), / ready in \d+ ms/, 90_000), startNodeRed(nodeRed.red, path.join(work, `nr-rss-${i}`))] as const);
      try {
        await sleep(after - (performance.now() - t0));
        return { ours: await rssBytes(daemon.child.pid as number), theirs: await rssBytes(red.child.pid as number) };
      } finally {
        await Promise.all([stop(daemon.child), stop(red.child)]);
      }
    }),
  );
  rows.push(measuredRow({ metric: `idle RSS after ${after / 1000} s, daemon vs ${name} (no flows), median of ${slow}`, value: median(rss.map((r) => r.ours)) / MB, unit: 'MB', baseline: median(rss.map((r) => r.theirs)) / MB, target: 'reported' }));

  // Boot, in turn.
  const fast = rounds('fast');
  const listener = await startNotifyListener(path.join(work, 'nr-notify.sock'));
  try {
    const boot = await bootInTurn(
      fast,
      async (round) => bootToReady(process.execPath, [...DAEMON_NODE_FLAGS, DAEMON], await daemonEnv(path.join(work, `nr-boot-${round}`)), listener),
      (round) => startNodeRed(nodeRed.red, path.join(work, `nr-boot-${round}-red`)),
    );
    rows.push(measuredRow({ metric: `boot: daemon to READY=1 vs ${name} to "Started flows", median of ${fast}`, value: boot.ours, unit: 'ms', baseline: boot.base, target: 'reported' }));
  } finally {
    await listener.close();
  }
}
