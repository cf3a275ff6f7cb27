/**
 * Pinned Node runtimes for tests that prove the product on a Node other than the one running the tests: the same
 * npm packages the Debian package embeds (`node-linux-<cpu>`, fetched and cached by the packager's own
 * scripts/package/node-runtime.ts), for the build machine's CPU, cached under ~/.cache/openstarry-node (the
 * folder: $OPENSTARRY_TEST_CACHE, else $XDG_CACHE_HOME, else ~/.cache). npm's cache makes a refetch offline.
 *
 *   const node24 = await requireNodeRuntime(t, PINNED_NODE[24]);   // undefined: skipped (or failed under CI)
 *   spawn(node24.binary, ['dist/openstarryd.js'])
 */
import { execFile } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Test } from 'tap';
import { ARCHES, hostDebArch, NODE_VERSION } from '../package/arch.ts';
import type { NodeRuntime } from '../package/node-runtime.ts';
import { nodeRuntime } from '../package/node-runtime.ts';
import { requirePart } from './system-deps.ts';

const run = promisify(execFile);

/** The runtimes the product is proven on besides the host's Node 20: the packaged LTS and the newest 24. */
export const PINNED_NODE = { 22: NODE_VERSION, 24: '24.22.3' } as const;

/** The folder cached test downloads live under (Node runtimes, the arm64 sysroot). */
export function testCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.OPENSTARRY_TEST_CACHE ?? env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache');
}

/**
 * Node `version` for this machine's CPU, checked to run and to be that version; otherwise the test is skipped with
 * the reason (or fails under OPENSTARRY_REQUIRE_SYSTEM_DEPS=1) and this returns undefined.
 */
export async function requireNodeRuntime(t: Test, version: string): Promise<NodeRuntime | undefined> {
  const deb = hostDebArch();
  try {
    if (deb === undefined) throw new Error(`no node-linux package for this CPU (${process.arch})`);
    const runtime = await nodeRuntime(ARCHES[deb], path.join(testCacheDir(), 'openstarry-node'), version);
    const { stdout } = await run(runtime.binary, ['--version']);
    if (stdout.trim() !== `v${version}`) throw new Error(`${runtime.binary} says ${stdout.trim()}, expected v${version}`);
    return runtime;
  } catch (err) {
    requirePart(t, false, `Node ${version} is not available: ${(err as Error).message.split('\n')[0]}`);
    return undefined;
  }
}
