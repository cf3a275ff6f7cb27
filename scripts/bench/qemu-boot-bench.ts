/**
 * Issue 12's arm64 boot row (a proxy for a Pi's slower core): the packaged arm64 runtime — the .deb of
 * `npm run package -- --arch arm64` (dist/deb/, or OPENSTARRY_ARM64_DEB=FILE) extracted with dpkg -x — its own
 * arm64 Node running its dist/openstarryd.js under qemu-aarch64-static with Debian's arm64 C runtime as the sysroot
 * (scripts/testing/qemu-arm64.ts, as scripts/package/arm64.test.ts does; binfmt_misc is not needed: nothing is
 * exec'd during boot). Time from exec to the daemon's READY=1 at a real NOTIFY_SOCKET listener, beside
 * bare-baseline.mjs on the same emulated Node with the package's arm64 sd_notify addon, in turn, rounds('slow'),
 * medians; the first (cold) boot is named in the metric. A missing qemu, .deb or sysroot makes the row
 * "skipped: <why>", not a failure.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { ensureArm64Sysroot } from '../testing/qemu-arm64.ts';
import { startNotifyListener } from '../testing/notify-listener.ts';
import { hasTool } from '../testing/system-deps.ts';
import { DAEMON_NODE_FLAGS, daemonEnv, measuredRow, ROOT, rows, skippedRow } from './bench-table.ts';
import { median, rounds, stop } from './measure.ts';
import { bareBaselineArgs, bootToReady } from './notify-boot.ts';

const run = promisify(execFile);
const METRIC = 'boot to READY=1 under qemu-aarch64, packaged arm64 runtime';
const TARGET = '<= 4 s';

function arm64Deb(): string {
  const given = process.env.OPENSTARRY_ARM64_DEB;
  if (given) return path.resolve(given);
  const version = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  return path.join(ROOT, 'dist', 'deb', `openstarry_${version}_arm64.deb`);
}

/** Why the row cannot be measured here, or undefined when it can. */
function missing(deb: string): string | undefined {
  for (const [tool, pkg] of [['qemu-aarch64-static', 'qemu-user-static'], ['dpkg', 'dpkg'], ['python3', 'python3']] as const) {
    if (!hasTool(tool)) return `${tool} is not installed (apt-get install ${pkg})`;
  }
  if (!existsSync(deb)) return `no ${path.relative(ROOT, deb)} (npm run package -- --arch arm64, or OPENSTARRY_ARM64_DEB=FILE)`;
  return undefined;
}

export async function benchQemuBoot(work: string): Promise<void> {
  const deb = arm64Deb();
  const why = missing(deb);
  if (why) {
    rows.push(skippedRow(METRIC, why, TARGET));
    return;
  }
  let sysroot: string;
  try {
    sysroot = await ensureArm64Sysroot();
  } catch (err) {
    rows.push(skippedRow(METRIC, `no arm64 sysroot: ${(err as Error).message}`, TARGET));
    return;
  }
  const root = path.join(work, 'arm64-root');
  await run('dpkg', ['-x', deb, root]);
  const app = path.join(root, 'usr', 'lib', 'openstarry');
  const { stdout } = await run('sh', ['-c', 'command -v qemu-aarch64-static']);
  const emulated = ['-L', sysroot, path.join(app, 'node', 'bin', 'node')];
  const qemu = stdout.trim();

  const n = rounds('slow');
  const listener = await startNotifyListener(path.join(work, 'qemu-notify.sock'));
  try {
    const ours: number[] = [];
    const base: number[] = [];
    // One home for every boot, as on a board: the first boot after install compiles the bundle and fills V8's compile
    // cache (<home>/cache/v8, runtime/daemon/compile-cache.ts); the boots after it read the cache.
    const home = path.join(work, 'qemu-home');
    const boot = async () => {
      const d = await bootToReady(qemu, [...emulated, ...DAEMON_NODE_FLAGS, path.join(app, 'dist', 'openstarryd.js')], await daemonEnv(home), listener, 240_000);
      await stop(d.child);
      return d.ms / 1000;
    };
    const cold = await boot();
    for (let i = 0; i < n; i++) {
      const b = await bootToReady(qemu, [...emulated, ...bareBaselineArgs(work, 100 + i, app)], process.env, listener, 240_000);
      await stop(b.child);
      base.push(b.ms / 1000);
      ours.push(await boot());
    }
    rows.push({
      ...measuredRow({ metric: `${METRIC} (first boot after install ${cold.toFixed(1)} s), median of the ${n} after it`, value: median(ours), unit: 's', baseline: median(base), target: { on: 'value', atMost: 4 } }),
      targetText: `${TARGET} (the ratio is to bare-baseline.mjs under the same qemu, for scale)`,
    });
  } finally {
    await listener.close();
  }
}
