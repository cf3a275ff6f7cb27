// The arm64 package proven on this x86-64 machine (README "Layout"): the .deb
// the packager builds for arm64 is extracted with dpkg -x and its daemon is run by its OWN arm64 Node under
// qemu-aarch64-static, with Debian's arm64 C runtime as the sysroot and binfmt_misc registered for the test so a
// process isolate (which re-executes the runtime) runs too. It boots on the sim board to READY, sent by the daemon
// itself (its arm64 sd_notify addon) to a real NOTIFY_SOCKET listener (scripts/testing/notify-listener.ts); the x86
// CLI (the package's dist/openstarry.js on the host's Node) lists the master running; a worker and a process agent
// each read env0.temperature through the HAL; every arm64 .node file in the package loads with the arm64 Node. The
// one slow test: one daemon, generous timeouts; the boot time under emulation is reported, never asserted.
//
// The .deb: OPENSTARRY_ARM64_DEB names one already built, else the packager builds it from this checkout's dist/
// (`npm test` builds dist/ first) into a temp folder: `npm run package -- --arch arm64 --no-build`.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { open, readdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import type { Test } from 'tap';
import type { IAgentStatus, LogLine } from '../../runtime/control/protocol.ts';
import { halProbe, PROCESS_PERMISSIONS } from '../../runtime/e2e/hal-probe.ts';
import { requireBuild, ROOT, startDaemon, templatesWithConfig, tempDir } from '../../runtime/e2e/harness.ts';
import { startNotifyListener } from '../testing/notify-listener.ts';
import { requireArm64Emulation } from '../testing/qemu-arm64.ts';
import { requireTool } from '../testing/system-deps.ts';
import { ARCHES, hostDebArch, NODE_VERSION } from './arch.ts';
import { requiredTools } from './tools.ts';

const run = promisify(execFile);
const EM_AARCH64 = 183;

t.setTimeout(20 * 60_000);

/** The arm64 .deb to test, or undefined when the packager's own tools are missing (skipped or failed). */
async function arm64Deb(t: Test): Promise<string | undefined> {
  const given = process.env.OPENSTARRY_ARM64_DEB;
  if (given) return given;
  for (const tool of requiredTools([ARCHES.arm64], hostDebArch())) if (!requireTool(t, tool.command, tool.aptPackage)) return undefined;
  requireBuild();
  const out = tempDir(t);
  // gzip: the xz default saves space on a board's card, here it only costs a minute.
  await run(process.execPath, ['--import', 'tsx', 'scripts/package/build.ts', '--arch', 'arm64', '--no-build', '--compression', 'gzip', '--out', out], { cwd: ROOT, timeout: 15 * 60_000, maxBuffer: 64 * 1024 * 1024 });
  const version = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  return path.join(out, `openstarry_${version}_arm64.deb`);
}

/** ELF e_machine of a file, or undefined when it is not an ELF file. */
async function elfMachine(file: string): Promise<number | undefined> {
  const fh = await open(file, 'r');
  try {
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(20), 0, 20, 0);
    if (bytesRead < 20 || buffer.readUInt32BE(0) !== 0x7f454c46) return undefined;
    return buffer.readUInt16LE(18);
  } finally {
    await fh.close();
  }
}

async function filesUnder(dir: string, suffix: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith(suffix)).map((e) => path.join(e.parentPath, e.name));
}

t.test('the arm64 .deb under qemu: boots to READY, the x86 CLI drives it, worker and process agents read the HAL, every addon loads', async (t) => {
  const arm64 = await requireArm64Emulation(t);
  if (!arm64 || !requireTool(t, 'python3', 'python3')) return;
  t.comment(`binfmt: ${arm64.binfmt.actions.join('; ')}`);
  const deb = await arm64Deb(t);
  if (!deb) return;

  const dir = tempDir(t);
  const root = path.join(dir, 'root');
  await run('dpkg', ['-x', deb, root]);
  const app = path.join(root, 'usr', 'lib', 'openstarry');
  const node = path.join(app, 'node', 'bin', 'node');
  t.equal(await elfMachine(node), EM_AARCH64, 'the packaged Node is an arm64 program');
  const emulated = [arm64.qemu, '-L', arm64.sysroot, node];
  const { stdout: about } = await run(emulated[0] as string, [...emulated.slice(1), '-p', 'process.version + " " + process.arch'], { timeout: 120_000 });
  t.equal(about.trim(), `v${NODE_VERSION} arm64`, 'it runs under qemu: its own Node 22 on arm64');

  // Every arm64 native addon in the package loads with the packaged runtime (one emulated process for all).
  const addons: string[] = [];
  for (const file of await filesUnder(app, '.node')) if ((await elfMachine(file)) === EM_AARCH64) addons.push(file);
  t.ok(addons.some((f) => f.includes('i2c-bus')) && addons.some((f) => f.includes('epoll')), `the arm64 addons: ${addons.map((f) => path.relative(app, f)).join(', ')}`);
  const loader = "const out = {}; for (const f of process.argv.slice(1)) { try { require(f); out[f] = 'ok'; } catch (e) { out[f] = e.message.split('\\n')[0]; } } console.log(JSON.stringify(out));";
  const { stdout: loaded } = await run(emulated[0] as string, [...emulated.slice(1), '-e', loader, ...addons], { timeout: 300_000 });
  const results = JSON.parse(loaded) as Record<string, string>;
  for (const file of addons) t.equal(results[file], 'ok', `require ${path.relative(app, file)}`);
  const esbuild = path.join(app, 'node_modules', '@esbuild', 'linux-arm64', 'bin', 'esbuild');
  if (existsSync(esbuild)) {
    const { stdout } = await run(arm64.qemu, ['-L', arm64.sysroot, esbuild, '--version'], { timeout: 120_000 });
    t.match(stdout.trim(), /^\d+\.\d+\.\d+$/, 'the arm64 esbuild (the wasm driver bundles with it at spawn) runs');
  }

  // One daemon: the package's bundle on the package's Node, under qemu, on the sim board.
  const listener = await startNotifyListener(path.join(dir, 'notify.sock'));
  t.teardown(() => listener.close());
  const { config } = templatesWithConfig(dir, { 'probe-worker': halProbe('worker'), 'probe-process': halProbe('process') });
  const startedAt = performance.now();
  const d = await startDaemon(t, {
    dir,
    args: ['--config', config],
    env: { NOTIFY_SOCKET: listener.address },
    runtime: emulated,
    bundle: path.join(app, 'dist', 'openstarryd.js'),
    cli: path.join(app, 'dist', 'openstarry.js'),
    readyTimeoutMs: 240_000,
  });
  const ready = await listener.waitFor('READY=1', (m) => m.fields.READY === '1', 60_000);
  const bootSeconds = (performance.now() - startedAt) / 1000;
  t.comment(`arm64 daemon under qemu: READY=1 ${bootSeconds.toFixed(1)} s after spawn (${d.log().match(/ready in \d+ ms/)?.[0] ?? '?'} by its own clock)`);
  t.equal(ready.fields.STATUS, 'ready; master agent pid 1');
  t.equal(ready.pid, d.child.pid, 'sent by the emulated daemon itself (the arm64 sd_notify addon), not a forked helper');

  const ps = await d.json<IAgentStatus[]>('ps');
  t.match(ps.find((a) => a.agentId === 'master'), { state: 'running' }, 'the x86 CLI lists the master running');

  const worker = await d.json<IAgentStatus>('spawn', 'probe-worker');
  const child = await d.json<IAgentStatus>('spawn', 'probe-process');
  t.match(worker, { isolation: 'worker', state: 'running' });
  t.match(child, { isolation: 'process', state: 'running' });
  t.not(child.osPid, d.child.pid, 'the process agent is an emulated process of its own (binfmt_misc)');
  for (const [agent, isolation] of [[worker, 'worker'], [child, 'process']] as const) {
    await d.waitFor(`${isolation} probe to finish`, async () => (await d.cli('logs', agent.pid)).stdout.includes('permissions'), 180_000);
    const lines = await d.jsonLines<LogLine>('logs', agent.pid);
    t.match(lines.find((l) => l.message === 'reading')?.fields, { ok: true, node: `v${NODE_VERSION}`, arch: 'arm64' }, `${isolation}: env0.temperature through the HAL on arm64`);
    if (isolation === 'process') t.same(lines.find((l) => l.message === 'permissions')?.fields, PROCESS_PERMISSIONS, 'process: behind the permission model on arm64 too');
  }
  t.match(await d.json<IAgentStatus>('kill', child.pid), { state: 'exited', exitCode: 0 });
  t.match(await d.json<IAgentStatus>('kill', worker.pid), { state: 'exited', exitCode: 0 });
  d.child.kill('SIGTERM');
  t.equal(await d.exited, 0, 'SIGTERM stops it cleanly');
});
