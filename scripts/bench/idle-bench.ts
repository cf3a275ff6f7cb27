/**
 * Issue 12's idle rows, on the daemon bundle with its master agent, sim board, embedded broker and dashboard on
 * (daemonEnv), each beside bare-baseline.mjs (plain `node` holding one idle worker thread) started at the same time:
 *
 *   idle-rss    RSS of both sampled 20 s after their spawn (BENCH_IDLE_RSS_SECONDS)
 *   idle-cpu    then the daemon's utime+stime over 60 s (BENCH_IDLE_CPU_SECONDS), all threads, % of one core
 *   agent-rss   then 10 hello-sensor agents (agents/hello-sensor, copied with ids of their own) spawned in the
 *               daemon and 10 more idle workers in the bare node: (RSS after settling - RSS before) / 10 each
 *
 * The rounds (rounds('slow')) run side by side, each a daemon and a bare node of its own: a round waits more than a
 * minute and only idle figures are taken (RSS and CPU time are per process, the load of the others does not change
 * them). Medians are reported. The three ids share their daemons: selected together they cost one wait.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ControlClient } from '../../runtime/control/control-client.ts';
import type { Row } from './bench-table.ts';
import { DAEMON, DAEMON_NODE_FLAGS, daemonEnv, measuredRow, ROOT, rows, warmConfig } from './bench-table.ts';
import { cpuSeconds, median, rounds, rssBytes, sleep, startedTogether, startUntil, stop } from './measure.ts';
import { BARE_BASELINE } from './notify-boot.ts';

export type IdlePart = 'idle-rss' | 'idle-cpu' | 'agent-rss';
export const IDLE_PARTS: readonly IdlePart[] = ['idle-rss', 'idle-cpu', 'agent-rss'];

const AGENTS = 10;
const MB = 2 ** 20;
const seconds = (name: string, fallback: number) => Number(process.env[name] ?? fallback) * 1000;

interface RoundFigures { rss: number; bareRss: number; jitBareRss?: number; cpuPct?: number; bareCpuPct?: number; agentBytes?: number; bareWorkerBytes?: number }

/** bare-baseline.mjs with a stdin to ask it for more workers; resolves once it holds its first one. */
function startBare(args: string[] = []): Promise<{ child: ChildProcess; more(n: number): Promise<void> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BARE_BASELINE, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    const waiting: { pattern: RegExp; done: () => void }[] = [];
    child.stdout?.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      for (const w of [...waiting]) {
        if (!w.pattern.test(out)) continue;
        waiting.splice(waiting.indexOf(w), 1);
        w.done();
      }
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`bare-baseline.mjs exited (${code}): ${out}`)));
    const more = (n: number, total: number) =>
      new Promise<void>((done) => {
        waiting.push({ pattern: new RegExp(`^workers ${total}$`, 'm'), done });
        child.stdin?.write(`workers ${n}\n`);
      });
    waiting.push({ pattern: /^ready$/m, done: () => resolve({ child, more: (n) => more(n, 1 + n) }) });
  });
}

/** AGENTS copies of agents/hello-sensor, each with an id of its own (one live instance per id). */
async function helloSensors(work: string): Promise<string[]> {
  const source = path.join(ROOT, 'agents', 'hello-sensor');
  const manifest = JSON.parse(await readFile(path.join(source, 'agent.json'), 'utf8')) as { id: string };
  const files: string[] = [];
  for (let i = 0; i < AGENTS; i++) {
    const dir = path.join(work, 'hello-sensors', `${manifest.id}-${i}`);
    await mkdir(dir, { recursive: true });
    await copyFile(path.join(source, 'ticker.js'), path.join(dir, 'ticker.js'));
    await writeFile(path.join(dir, 'agent.json'), JSON.stringify({ ...manifest, id: `${manifest.id}-${i}` }));
    files.push(path.join(dir, 'agent.json'));
  }
  return files;
}

async function cpuPercent(pid: number, ms: number): Promise<number> {
  const before = await cpuSeconds(pid);
  await sleep(ms);
  return ((await cpuSeconds(pid)) - before) / (ms / 1000) * 100;
}

async function idleRound(work: string, round: number, parts: ReadonlySet<IdlePart>, warm: boolean, manifests: readonly string[]): Promise<RoundFigures> {
  const home = path.join(work, `idle-${warm ? 'warm-' : ''}${round}`);
  const args = warm ? [...DAEMON_NODE_FLAGS, DAEMON, '--config', await warmConfig(work)] : [...DAEMON_NODE_FLAGS, DAEMON];
  const t0 = performance.now();
  const [bare, daemon, jitBare] = await startedTogether([startBare(), startUntil(process.execPath, args, await daemonEnv(home), / ready in \d+ ms/, 90_000), startBare(['--jit-once'])] as const);
  try {
    await sleep(seconds('BENCH_IDLE_RSS_SECONDS', 20) - (performance.now() - t0));
    const pid = daemon.child.pid as number;
    const barePid = bare.child.pid as number;
    const figures: RoundFigures = { rss: await rssBytes(pid), bareRss: await rssBytes(barePid), jitBareRss: await rssBytes(jitBare.child.pid as number) };
    await stop(jitBare.child);
    if (parts.has('idle-cpu')) {
      const ms = seconds('BENCH_IDLE_CPU_SECONDS', 60);
      [figures.cpuPct, figures.bareCpuPct] = await Promise.all([cpuPercent(pid, ms), cpuPercent(barePid, ms)]);
    }
    if (parts.has('agent-rss')) {
      const settle = seconds('BENCH_AGENT_SETTLE_SECONDS', 10);
      const grow = async (sample: () => Promise<number>, add: () => Promise<void>) => {
        const before = await sample();
        await add();
        await sleep(settle);
        return ((await sample()) - before) / AGENTS;
      };
      const client = await ControlClient.connect(path.join(home, 'openstarryd.sock'));
      try {
        [figures.agentBytes, figures.bareWorkerBytes] = await Promise.all([
          grow(
            () => rssBytes(pid),
            async () => {
              for (const m of manifests) {
                const s = await client.call('spawnAgent', [m]);
                if (s.state !== 'running') throw new Error(`${m} did not run: ${JSON.stringify(s)}`);
              }
            },
          ),
          grow(() => rssBytes(barePid), () => bare.more(AGENTS)),
        ]);
      } finally {
        client.close();
      }
    }
    return figures;
  } finally {
    await Promise.all([stop(daemon.child), stop(bare.child), stop(jitBare.child)]);
  }
}

/** The rows for `parts`, from rounds('slow') side-by-side rounds. */
export async function benchIdle(work: string, parts: ReadonlySet<IdlePart>, warm = false): Promise<void> {
  const n = rounds('slow');
  const manifests = parts.has('agent-rss') ? await helloSensors(work) : [];
  const all = await Promise.all(Array.from({ length: n }, (_, i) => idleRound(work, i, parts, warm, manifests)));
  const med = (pick: (f: RoundFigures) => number | undefined) => median(all.map(pick).filter((v): v is number => v !== undefined));
  const label = `median of ${n}${warm ? ', warmSpares: 1' : ''}`;
  const rssSeconds = seconds('BENCH_IDLE_RSS_SECONDS', 20) / 1000;
  if (parts.has('idle-rss')) {
    rows.push(measuredRow({ metric: `idle RSS after ${rssSeconds} s: daemon + master (broker, dashboard on) vs node + 1 worker, ${label}`, value: med((f) => f.rss) / MB, unit: 'MB', baseline: med((f) => f.bareRss) / MB, target: { on: 'ratio', atMost: 1.25 } }));
    // For scale, no target: the same daemon beside a bare node that has run the optimizing compiler once (--jit-once).
    rows.push(measuredRow({ metric: `idle RSS, same daemon vs node + 1 worker that has JIT-optimized one function, ${label}`, value: med((f) => f.rss) / MB, unit: 'MB', baseline: med((f) => f.jitBareRss) / MB, target: 'reported' }));
  }
  if (parts.has('agent-rss')) {
    rows.push(measuredRow({ metric: `RSS per further worker agent (${AGENTS} hello-sensor) vs per bare worker, ${label}`, value: med((f) => f.agentBytes) / MB, unit: 'MB', baseline: med((f) => f.bareWorkerBytes) / MB, digits: 2, target: { on: 'ratio', atMost: 1.2 } }));
  }
  if (parts.has('idle-cpu')) {
    const cpuSecondsText = seconds('BENCH_IDLE_CPU_SECONDS', 60) / 1000;
    const bare = med((f) => f.bareCpuPct);
    // No ratio: the bare node's idle CPU is ~0 (shown for scale); the target is on the daemon's own share.
    const row: Row = measuredRow({ metric: `idle CPU over ${cpuSecondsText} s, same daemon, % of one core, ${label}`, value: med((f) => f.cpuPct), unit: '%', digits: 2, target: { on: 'value', atMost: 0.5 } });
    rows.push({ ...row, base: `${bare.toFixed(2)} % (bare node)`, baseline: bare });
  }
}

/** The idle ids share their daemons: the first one run measures every selected part, the others find it done. */
export function idleGroup(selected: () => readonly string[]): (work: string) => Promise<string | undefined> {
  let done: Promise<void> | undefined;
  return async (work) => {
    if (done) return done.then(() => 'measured with the first idle row');
    done = benchIdle(work, new Set(IDLE_PARTS.filter((p) => selected().includes(p))));
    await done;
    return undefined;
  };
}
