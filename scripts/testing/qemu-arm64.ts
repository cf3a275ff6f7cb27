/**
 * Running arm64 programs on an x86-64 machine (README "Layout"): qemu-user-static, a sysroot of Debian's arm64
 * C runtime, and binfmt_misc so that an arm64 program can exec another arm64 program (a `process` isolate
 * re-executes the runtime).
 *
 *   const arm64 = await requireArm64Emulation(t);   // undefined: skipped (or failed under CI), with the reason
 *   spawn(arm64.qemu, ['-L', arm64.sysroot, 'node/bin/node', 'app.js'])
 *
 * The sysroot: libc6, libstdc++6 and libgcc-s1 for arm64, downloaded with `apt-get download` through an apt
 * configuration of its own (its own lists and archives under the cache folder, architecture arm64), so the
 * machine's dpkg architectures and apt lists are left alone; `dpkg -x`ed once into
 * <cache>/openstarry-arm64-sysroot/sysroot (cache: $OPENSTARRY_TEST_CACHE, $XDG_CACHE_HOME or ~/.cache).
 *
 * binfmt_misc: registered for the test only, under a name of its own (`openstarry-aarch64`, Debian's magic and mask
 * from qemu-user-static's /usr/lib/binfmt.d/qemu-aarch64.conf), so an entry the machine already has is never
 * touched: the kernel tries the newest entry first, so ours answers while it exists, and removing it gives the
 * machine back exactly what it had. Debian's interpreter (qemu-binfmt/aarch64-binfmt-P) looks for the arm64
 * libraries in /etc/qemu-binfmt/aarch64, which is pointed at the sysroot for the test unless it already exists.
 * Everything the registration created (the entry, that link, the binfmt_misc mount) is undone in teardown;
 * an entry or link left by a test run that was killed is recognised by its name or target and replaced.
 */
import { execFile } from 'node:child_process';
import { existsSync, lstatSync, readlinkSync } from 'node:fs';
import { mkdir, readdir, readFile, rmdir, symlink, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Test } from 'tap';
import { cachedDir } from '../package/cache.ts';
import { testCacheDir } from './node-runtime.ts';
import { requirePart, requireTool } from './system-deps.ts';

const execute = promisify(execFile);

/** What an arm64 Node and its native addons link (readelf -d: NEEDED), as Debian packages. */
export const ARM64_SYSROOT_PACKAGES = ['libc6', 'libstdc++6', 'libgcc-s1'] as const;

export const BINFMT_NAME = 'openstarry-aarch64';

export interface Arm64Paths {
  binfmtDir: string;
  /** Debian's binfmt line for qemu-aarch64 (qemu-user-static). */
  binfmtConf: string;
  /** Where aarch64-binfmt-P looks for the arm64 libraries. */
  qemuPrefixLink: string;
}

export const DEFAULT_PATHS: Arm64Paths = {
  binfmtDir: '/proc/sys/fs/binfmt_misc',
  binfmtConf: '/usr/lib/binfmt.d/qemu-aarch64.conf',
  qemuPrefixLink: '/etc/qemu-binfmt/aarch64',
};

export function arm64SysrootCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(testCacheDir(env), 'openstarry-arm64-sysroot');
}

/** One line of a failed command: its stderr's last lines, else its message. */
function failure(what: string, err: unknown): Error {
  const e = err as { stderr?: string; message: string };
  return new Error(`${what} failed: ${(e.stderr || e.message).trim().split('\n').slice(-3).join(' ')}`, { cause: err });
}

/** The sysroot folder, built on first use. Needs apt-get and dpkg, and Debian's apt sources reachable once. */
export async function ensureArm64Sysroot(cacheDir: string = arm64SysrootCacheDir()): Promise<string> {
  return cachedDir(cacheDir, 'sysroot', async (sysroot) => {
    const apt = path.join(cacheDir, 'apt');
    const debs = path.join(apt, 'debs');
    for (const d of ['lists/partial', 'archives/partial', 'debs']) await mkdir(path.join(apt, d), { recursive: true });
    // An apt of its own: arm64 only, its own lists, no dpkg status (nothing is installed, only downloaded), and no
    // privilege drop to _apt (the folder is ours, not apt's).
    const options = [
      '-o', 'APT::Architecture=arm64',
      '-o', 'APT::Architectures=arm64',
      '-o', `Dir::State::Lists=${path.join(apt, 'lists')}`,
      '-o', `Dir::Cache::Archives=${path.join(apt, 'archives')}`,
      '-o', 'Dir::Cache::pkgcache=',
      '-o', 'Dir::Cache::srcpkgcache=',
      '-o', 'Dir::State::status=/dev/null',
      '-o', 'APT::Sandbox::User=root',
    ];
    const downloaded = async () => (await readdir(debs)).filter((f) => f.endsWith('.deb'));
    if ((await downloaded()).length < ARM64_SYSROOT_PACKAGES.length) {
      try {
        await execute('apt-get', ['-qq', ...options, 'update'], { timeout: 600_000 });
        await execute('apt-get', ['-qq', ...options, 'download', ...ARM64_SYSROOT_PACKAGES.map((p) => `${p}:arm64`)], { cwd: debs, timeout: 600_000 });
      } catch (err) {
        throw failure(`apt-get download ${ARM64_SYSROOT_PACKAGES.join(' ')} (arm64)`, err);
      }
    }
    for (const deb of await downloaded()) await execute('dpkg', ['-x', path.join(debs, deb), sysroot]);
    if (!lexists(path.join(sysroot, 'lib', 'ld-linux-aarch64.so.1'))) throw new Error(`the arm64 libc6 in ${debs} has no lib/ld-linux-aarch64.so.1`);
  });
}

export interface BinfmtRegistration {
  /** What was done, for the test log (e.g. "mounted binfmt_misc; registered openstarry-aarch64; linked ..."). */
  readonly actions: readonly string[];
  /** Undoes exactly what was done. Idempotent. */
  release(): Promise<void>;
}

/** The target of the symbolic link at `at`, or undefined when `at` is not one (or does not exist). */
function linkTarget(at: string): string | undefined {
  try {
    return readlinkSync(at);
  } catch {
    return undefined;
  }
}

function lexists(at: string): boolean {
  try {
    lstatSync(at);
    return true;
  } catch {
    return false;
  }
}

/** Registers qemu-aarch64 with binfmt_misc for arm64 programs that exec arm64 programs. Needs root. */
export async function registerArm64Binfmt(sysroot: string, paths: Arm64Paths = DEFAULT_PATHS): Promise<BinfmtRegistration> {
  const actions: string[] = [];
  const undo: (() => Promise<unknown>)[] = [];
  const release = async () => {
    while (undo.length > 0) await undo.pop()?.().catch(() => undefined);
  };
  try {
    const conf = await readFile(paths.binfmtConf, 'utf8').catch((err: unknown) => {
      throw failure(`reading ${paths.binfmtConf} (apt-get install qemu-user-static)`, err);
    });
    const line = conf.split('\n').find((l) => l.startsWith(':qemu-aarch64:'));
    if (line === undefined) throw new Error(`${paths.binfmtConf} has no :qemu-aarch64: line`);

    if (!existsSync(path.join(paths.binfmtDir, 'register'))) {
      try {
        await execute('mount', ['-t', 'binfmt_misc', 'binfmt_misc', paths.binfmtDir]);
      } catch (err) {
        throw failure(`mount -t binfmt_misc binfmt_misc ${paths.binfmtDir}`, err);
      }
      actions.push(`mounted binfmt_misc on ${paths.binfmtDir}`);
      undo.push(() => execute('umount', [paths.binfmtDir]));
    }
    const entry = path.join(paths.binfmtDir, BINFMT_NAME);
    if (existsSync(entry)) {
      // Left by a run that was killed before its teardown: ours by name.
      await writeFile(entry, '-1');
      actions.push(`removed a stale ${BINFMT_NAME}`);
    }
    await writeFile(path.join(paths.binfmtDir, 'register'), line.replace(':qemu-aarch64:', `:${BINFMT_NAME}:`));
    actions.push(`registered ${BINFMT_NAME}`);
    undo.push(() => writeFile(entry, '-1'));

    const link = paths.qemuPrefixLink;
    // A link into an openstarry-arm64-sysroot cache is ours, left by a run that was killed: replaced.
    if (linkTarget(link)?.includes('openstarry-arm64-sysroot')) {
      await unlink(link);
      actions.push(`removed a stale ${link}`);
    }
    if (!lexists(link)) {
      const parent = path.dirname(link);
      if (!existsSync(parent)) {
        await mkdir(parent);
        undo.push(() => rmdir(parent));
      }
      await symlink(sysroot, link);
      actions.push(`linked ${link} -> ${sysroot}`);
      undo.push(() => unlink(link));
    } else if (existsSync(path.join(link, 'lib', 'ld-linux-aarch64.so.1'))) {
      actions.push(`using the machine's own ${link}`);
    } else {
      throw new Error(`${link} exists but holds no lib/ld-linux-aarch64.so.1: point it at an arm64 sysroot or remove it`);
    }
  } catch (err) {
    await release();
    throw err;
  }
  return { actions, release };
}

export interface Arm64Emulation {
  /** qemu-aarch64-static's path. */
  qemu: string;
  sysroot: string;
  binfmt: BinfmtRegistration;
}

/**
 * Everything an arm64 test needs, released in teardown; undefined (skipped, or failed under
 * OPENSTARRY_REQUIRE_SYSTEM_DEPS=1) when a part is missing, with the reason.
 */
export async function requireArm64Emulation(t: Test): Promise<Arm64Emulation | undefined> {
  if (!requireTool(t, 'qemu-aarch64-static', 'qemu-user-static') || !requireTool(t, 'apt-get', 'apt') || !requireTool(t, 'dpkg', 'dpkg')) return undefined;
  if (!requirePart(t, process.getuid?.() === 0, 'registering qemu-aarch64 with binfmt_misc needs root')) return undefined;
  let sysroot: string;
  let binfmt: BinfmtRegistration;
  try {
    sysroot = await ensureArm64Sysroot();
    binfmt = await registerArm64Binfmt(sysroot);
  } catch (err) {
    requirePart(t, false, `arm64 emulation is not available: ${(err as Error).message}`);
    return undefined;
  }
  t.teardown(() => binfmt.release());
  const { stdout } = await execute('sh', ['-c', 'command -v qemu-aarch64-static']);
  return { qemu: stdout.trim(), sysroot, binfmt };
}
