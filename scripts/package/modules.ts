/**
 * The npm packages a Debian package ships in /usr/lib/openstarry/node_modules: only what the esbuild bundle
 * cannot carry (scripts/build.mjs's `external` list) plus the packages the bundle reads a data file from at run
 * time, each with the dependencies it loads, installed for the TARGET architecture.
 *
 * `npm ci --omit=dev --cpu=<cpu> --os=linux --ignore-scripts` in a staging copy of package.json and the lock file
 * picks each package's files for that architecture (esbuild's @esbuild/linux-<cpu> binary) without running any
 * install script: native addons are built separately, for that architecture (addons.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { ArchSpec } from './arch.ts';
import { prebuildFolder } from './arch.ts';
import { cacheKey, cachedDir } from './cache.ts';
import { run } from './run.ts';

/**
 * Packages the bundle resolves a file from at run time although their code is bundled: the wasm driver compiles
 * QuickJS from `@jitl/quickjs-wasmfile-release-sync/wasm` (runtime/isolation/wasm/wasm-driver.ts).
 */
export const RUNTIME_FILE_PACKAGES = ['@jitl/quickjs-wasmfile-release-sync'] as const;

/** Header-only packages that are compiled into an addon and never loaded at run time. */
const BUILD_ONLY = new Set(['nan', 'node-addon-api']);

/** The `external` list of scripts/build.mjs (one source of truth for "not bundled"). */
export function externalsOf(buildScript: string): string[] {
  const list = /\bexternal:\s*\[([^\]]*)\]/.exec(buildScript)?.[1];
  if (list === undefined) throw new Error('scripts/build.mjs: no `external: [...]` list found (the packager ships exactly those modules)');
  const names = [...list.matchAll(/'([^']+)'/g)].map((m) => m[1]!);
  const wildcard = names.find((n) => n.includes('*'));
  if (wildcard) throw new Error(`scripts/build.mjs: external '${wildcard}': name each external package (the packager ships exactly those)`);
  return names;
}

/** How a shipped package's native part (a binding.gyp at its root) is provided for the target. */
export type NativeKind = 'prebuilt' | 'build';

export interface ShippedPackage {
  readonly name: string;
  readonly version: string;
  /** Path below the staging root, e.g. `node_modules/ssh2` or `node_modules/a/node_modules/b`. */
  readonly rel: string;
  readonly license: string;
  readonly native?: NativeKind;
}

export interface Closure {
  readonly packages: readonly ShippedPackage[];
  /** Optional native packages not shipped: their users fall back without them (said in the build output). */
  readonly skipped: readonly string[];
}

interface PackageJson {
  name?: string;
  version?: string;
  license?: string | { type?: string };
  licenses?: { type?: string }[];
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

function licenseOf(pkg: PackageJson): string {
  if (typeof pkg.license === 'string') return pkg.license;
  return pkg.license?.type ?? pkg.licenses?.map((l) => l.type).join(' or ') ?? 'UNKNOWN';
}

/** Node's resolution (node_modules_paths): the nearest node_modules/<name> from `fromRel` up to the root. */
function resolvePackage(root: string, fromRel: string, name: string): string | undefined {
  for (let dir = path.join(root, fromRel); ; dir = path.dirname(dir)) {
    if (path.basename(dir) !== 'node_modules') {
      const candidate = path.join(dir, 'node_modules', name);
      if (existsSync(path.join(candidate, 'package.json'))) return path.relative(root, candidate);
    }
    if (dir === root || !dir.startsWith(root)) return undefined;
  }
}

/**
 * Every package reachable from `roots` through dependencies and optionalDependencies, as installed under
 * `root` (the staging folder). A native package (binding.gyp at its root) is `prebuilt` when it carries a
 * prebuild for this architecture, `build` otherwise; an optional one without a prebuild is skipped.
 */
export function resolveClosure(root: string, roots: readonly string[], arch: ArchSpec): Closure {
  const packages = new Map<string, ShippedPackage>();
  const skipped = new Set<string>();
  const visit = (fromRel: string, name: string, optional: boolean, via: string) => {
    if (BUILD_ONLY.has(name)) return;
    const rel = resolvePackage(root, fromRel, name);
    if (rel === undefined) {
      // npm leaves out optional packages for other platforms (@esbuild/darwin-arm64 on linux-arm64).
      if (optional) return;
      throw new Error(`${name} (needed by ${via}) is not installed in ${root}`);
    }
    if (packages.has(rel) || skipped.has(name)) return;
    const dir = path.join(root, rel);
    const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as PackageJson;
    let native: NativeKind | undefined;
    if (existsSync(path.join(dir, 'binding.gyp'))) {
      native = existsSync(path.join(dir, 'prebuilds', prebuildFolder(arch))) ? 'prebuilt' : 'build';
      if (native === 'build' && optional) {
        skipped.add(name);
        return;
      }
    }
    packages.set(rel, { name, version: pkg.version ?? '0.0.0', rel, license: licenseOf(pkg), ...(native ? { native } : {}) });
    for (const dep of Object.keys(pkg.dependencies ?? {})) visit(rel, dep, false, name);
    for (const dep of Object.keys(pkg.optionalDependencies ?? {})) visit(rel, dep, true, name);
  };
  for (const name of roots) visit('.', name, false, 'scripts/build.mjs');
  return { packages: [...packages.values()].sort((a, b) => a.rel.localeCompare(b.rel)), skipped: [...skipped].sort() };
}

/**
 * The production modules for `arch`, installed once per lock file into the cache (read-only afterwards). The
 * lock file alone is the key: it records package.json's dependencies too (npm ci refuses a mismatch), so an
 * edit of package.json's scripts does not reinstall. The entry for the previous lock file is removed.
 */
export async function stageModules(repoRoot: string, arch: ArchSpec, cacheRoot: string): Promise<string> {
  const name = `modules-${arch.deb}-${cacheKey(arch.deb, await readFile(path.join(repoRoot, 'package-lock.json')))}`;
  const dir = await cachedDir(cacheRoot, name, async (temp) => {
    await copyFile(path.join(repoRoot, 'package.json'), path.join(temp, 'package.json'));
    await copyFile(path.join(repoRoot, 'package-lock.json'), path.join(temp, 'package-lock.json'));
    await run('npm', ['ci', '--omit=dev', `--cpu=${arch.npmCpu}`, '--os=linux', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: temp });
  });
  for (const old of (await readdir(cacheRoot)).filter((f) => f.startsWith(`modules-${arch.deb}-`) && f !== name)) await rm(path.join(cacheRoot, old), { recursive: true, force: true });
  return dir;
}
