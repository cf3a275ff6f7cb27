/**
 * A Docker-compatible engine for tests (docs/ARCHITECTURE.md "Testing against real parts"): podman's API service on a socket in a temp
 * dir, with runc and cgroupfs, plus the agent image imported from a local root file system (no registry here).
 *
 *   const engine = await startPodman(t);            // undefined: podman missing (skipped, or failed in CI)
 *   const driver = await DockerDriver.open({ socketPath: engine.socketPath, image: engine.image, runDir: ... });
 *
 * The service is stopped and its temp dir removed in t.teardown. The image stays in podman's store between runs
 * (it is ~100 MB and takes seconds to import): it is rebuilt only when its build label — a hash of the container
 * entry bundle and the Node binary's version — differs from this checkout's.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import type { Test } from 'tap';
import { requireTool } from './system-deps.ts';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const TEST_IMAGE = 'localhost/openstarry-agent:test';

export interface PodmanEngine {
  socketPath: string;
  image: string;
  /** A temp dir for the test's own files (run dirs, agent homes), removed in teardown. */
  dir: string;
}

/** Starts the service (one per call) and makes sure the image is current. Undefined when podman/runc are missing. */
export async function startPodman(t: Test): Promise<PodmanEngine | undefined> {
  if (!requireTool(t, 'podman', 'podman') || !requireTool(t, 'runc', 'runc')) return undefined;
  const service = await startPodmanService();
  t.teardown(() => service.stop());
  await ensureImage(TEST_IMAGE);
  return { socketPath: service.socketPath, image: TEST_IMAGE, dir: service.dir };
}

export interface PodmanService {
  socketPath: string;
  dir: string;
  /** Stops the service and removes its temp dir. Idempotent. */
  stop(): Promise<void>;
}

/** `podman system service` on a socket in a new temp dir, answering /_ping (no test framework needed: benches). */
export async function startPodmanService(): Promise<PodmanService> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'openstarry-podman-'));
  const socketPath = path.join(dir, 'podman.sock');
  // cwd: conmon writes its `oom` marker (a container the OOM killer ended) into the directory it inherits; in the
  // temp dir it goes with the service instead of appearing at the root of the checkout.
  const service: ChildProcess = spawn('podman', ['--runtime', 'runc', '--cgroup-manager=cgroupfs', 'system', 'service', '--time=0', `unix://${socketPath}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
    cwd: dir,
  });
  let serviceErr = '';
  service.stderr?.on('data', (c: Buffer) => (serviceErr = (serviceErr + c.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => service.once('exit', () => resolve()));
  const stop = async () => {
    if (service.exitCode === null && service.signalCode === null) {
      service.kill('SIGTERM');
      const timer = setTimeout(() => service.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForPing(socketPath, () => service.exitCode !== null, () => serviceErr);
  } catch (err) {
    await stop();
    throw err;
  }
  return { socketPath, dir, stop };
}

async function waitForPing(socketPath: string, died: () => boolean, stderr: () => string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (died()) throw new Error(`podman system service exited: ${stderr()}`);
    if (await ping(socketPath)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`podman system service did not answer /_ping within 10 s: ${stderr()}`);
}

function ping(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping', method: 'GET' }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.end();
  });
}

let imageReady: Promise<void> | undefined;

/** Bundles the container entry, and imports a new image only when the bundle or Node changed. */
export function ensureImage(tag: string): Promise<void> {
  imageReady ??= (async () => {
    const bundleDir = await mkdtemp(path.join(os.tmpdir(), 'openstarry-bundle-'));
    try {
      const bundle = path.join(bundleDir, 'agent-container.js');
      await build({
        entryPoints: [path.join(ROOT, 'runtime/isolation/docker/container-entry.ts')],
        outfile: bundle,
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        minifyWhitespace: true,
        minifySyntax: true,
        logLevel: 'warning',
        banner: { js: "import { createRequire as __osCreateRequire } from 'node:module'; const require = __osCreateRequire(import.meta.url);" },
      });
      const label = createHash('sha256').update(await readFile(bundle)).update(process.version).digest('hex').slice(0, 16);
      const current = await run('podman', ['image', 'inspect', tag, '--format', '{{ index .Config.Labels "org.openstarry.build" }}']).then((r) => r.stdout.trim(), () => '');
      if (current === label) return;
      await run(path.join(ROOT, 'scripts/docker/build-agent-image.sh'), [tag], { env: { ...process.env, ENGINE: 'podman', BUNDLE: bundle, BUILD_LABEL: label }, maxBuffer: 4 * 1024 * 1024 });
    } finally {
      await rm(bundleDir, { recursive: true, force: true });
    }
  })();
  return imageReady;
}
