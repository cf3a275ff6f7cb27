/**
 * One .deb for one architecture, start to end: the embedded runtime, the target's modules and native addons,
 * the assembled tree, the checks on its binaries, Depends:, the control area and dpkg-deb.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ArchSpec } from './arch.ts';
import { nodePackageName } from './arch.ts';
import { buildAddon } from './addons.ts';
import { cacheKey } from './cache.ts';
import { bundledPackages, copyrightFile, copyrightHolder } from './copyright.ts';
import { buildDebCached, writeControlArea } from './deb.ts';
import { sharedLibraryDepends } from './depends.ts';
import type { ElfInfo } from './elf.ts';
import { readElf } from './elf.ts';
import { externalsOf, resolveClosure, RUNTIME_FILE_PACKAGES, stageModules } from './modules.ts';
import { nodeRuntime } from './node-runtime.ts';
import type { Compression } from './options.ts';
import { APP, assembleTree, DEBIAN_DIR, fillTemplate, installedSizeKiB } from './tree.ts';

export interface RecipeInput {
  readonly repoRoot: string;
  readonly arch: ArchSpec;
  readonly version: string;
  readonly outDir: string;
  readonly cacheDir: string;
  readonly compression: Compression;
  readonly maintainer: string;
  /** RFC 2822 date for the changelog entry. */
  readonly date: string;
  readonly log: (line: string) => void;
}

export interface BuiltPackage {
  readonly file: string;
  readonly depends: readonly string[];
  readonly installedSizeKiB: number;
  /** Optional native packages left out (their users fall back without them). */
  readonly skipped: readonly string[];
  /** Nothing in the package changed since the last build: the cached .deb was copied. */
  readonly reused: boolean;
}

/** The repository's own addons: native/<name>/binding.gyp (e.g. native/sd-notify), identified by their sources. */
async function repoAddons(repoRoot: string): Promise<{ name: string; dir: string; identity: string }[]> {
  const native = path.join(repoRoot, 'native');
  if (!existsSync(native)) return [];
  const found = [];
  for (const name of (await readdir(native)).sort()) {
    const dir = path.join(native, name);
    if (!existsSync(path.join(dir, 'binding.gyp'))) continue;
    const sources = (await readdir(dir)).filter((f) => /\.(c|cc|cpp|h|hpp|gyp|gypi)$/.test(f)).sort();
    const identity = cacheKey(...(await Promise.all(sources.map(async (f) => Buffer.concat([Buffer.from(f), await readFile(path.join(dir, f))])))));
    found.push({ name, dir, identity });
  }
  return found;
}

export async function buildPackage(input: RecipeInput): Promise<BuiltPackage> {
  const { repoRoot, arch, cacheDir, log } = input;
  const runtime = await nodeRuntime(arch, cacheDir);
  const staging = await stageModules(repoRoot, arch, cacheDir);
  const externals = externalsOf(await readFile(path.join(repoRoot, 'scripts', 'build.mjs'), 'utf8'));
  const closure = resolveClosure(staging, [...externals, ...RUNTIME_FILE_PACKAGES], arch);
  for (const name of closure.skipped) log(`  ${arch.deb}: optional native package ${name} not shipped (no prebuild; its user falls back without it)`);

  const builtAddons = new Map<string, string>();
  for (const p of closure.packages.filter((p) => p.native === 'build')) {
    const source = { name: p.name, dir: path.join(staging, p.rel), identity: `${p.name}@${p.version}`, modulePath: path.join(staging, 'node_modules') };
    builtAddons.set(p.rel, await buildAddon(source, arch, runtime, cacheDir));
  }
  for (const addon of await repoAddons(repoRoot)) builtAddons.set(path.join('native', addon.name), await buildAddon({ name: `native-${addon.name}`, dir: addon.dir, identity: addon.identity }, arch, runtime, cacheDir));

  const shipped = await Promise.all(
    closure.packages.map(async (p) => {
      const dir = path.join(staging, p.rel);
      const licenseFile = (await readdir(dir)).find((f) => /^licen[cs]e/i.test(f));
      const text = licenseFile ? await readFile(path.join(dir, licenseFile), 'utf8') : undefined;
      return { ...p, installedDir: `${APP}/${p.rel}`, holder: copyrightHolder(text, p.name) };
    }),
  );
  const pkg = JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8')) as { license: string };
  const copyright = copyrightFile({ projectLicense: pkg.license, nodeVersion: runtime.version, nodePackage: nodePackageName(arch), bundled: await bundledPackages(path.join(repoRoot, 'dist')), shipped });
  const changelog = fillTemplate(await readFile(path.join(DEBIAN_DIR, 'changelog'), 'utf8'), { version: input.version, nodeVersion: runtime.version, maintainer: input.maintainer, date: input.date }, 'scripts/package/debian/changelog');

  const root = await mkdtemp(path.join(os.tmpdir(), `openstarry-deb-${arch.deb}-`));
  try {
    const tree = await assembleTree({ root, repoRoot, arch, version: input.version, runtime, staging, packages: closure.packages, builtAddons, copyright, changelog });
    const binaries: Record<string, ElfInfo> = {};
    for (const file of tree.elfFiles) {
      const elf = await readElf(path.join(root, file));
      // A binary for another architecture here would fail only on the board: stop the build instead.
      if (elf.machine !== arch.elfMachine) throw new Error(`${file}: built for ${elf.machine}, not ${arch.elfMachine}`);
      if (!elf.stripped) throw new Error(`${file}: not stripped`);
      binaries[file] = elf;
    }
    // adduser: postinst creates the system user and group.
    const depends = [...sharedLibraryDepends(binaries), 'adduser'];
    const installedSize = await installedSizeKiB(root);
    await writeControlArea(root, { version: input.version, arch: arch.deb, maintainer: input.maintainer, installedSize, depends, nodeVersion: runtime.version });
    const file = path.join(input.outDir, `openstarry_${input.version}_${arch.deb}.deb`);
    const reused = await buildDebCached(root, file, input.compression, cacheDir, arch.deb);
    return { file, depends, installedSizeKiB: installedSize, skipped: closure.skipped, reused };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
