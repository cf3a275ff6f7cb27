/**
 * Lays out the package's files in a root folder for dpkg-deb, by the team's agreed layout (Debian convention,
 * Filesystem Hierarchy Standard): the app under /usr/lib/openstarry, the wrappers in /usr/bin, the unit in
 * /usr/lib/systemd/system, the commented conffile in /etc/openstarry, docs and man pages under /usr/share.
 * Modes are normalised (0755 folders and executables, 0644 everything else); ownership is root's through
 * `dpkg-deb --root-owner-group`.
 */
import { existsSync } from 'node:fs';
import { chmod, copyFile, cp, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { ArchSpec } from './arch.ts';
import { prebuildFolder } from './arch.ts';
import { isElf } from './elf.ts';
import type { ShippedPackage } from './modules.ts';
import type { NodeRuntime } from './node-runtime.ts';
import { binScripts, shipsPath } from './prune.ts';
import { stripSharedObject } from './strip.ts';

export const DEBIAN_DIR = fileURLToPath(new URL('./debian/', import.meta.url));
export const APP = 'usr/lib/openstarry';
export const CONFFILE = '/etc/openstarry/openstarry.yaml';

/** What the packager writes into dist/ itself: never part of the bundle it ships. */
const PACKAGER_OUTPUTS = new Set(['deb', 'package-cache']);

export interface TreeInput {
  readonly root: string;
  readonly repoRoot: string;
  readonly arch: ArchSpec;
  readonly version: string;
  readonly runtime: NodeRuntime;
  /** The staging folder the shipped packages are copied from (modules.ts). */
  readonly staging: string;
  readonly packages: readonly ShippedPackage[];
  /** Package rel (`node_modules/i2c-bus`) or repo folder (`native/sd-notify`) -> its built Release folder. */
  readonly builtAddons: ReadonlyMap<string, string>;
  readonly copyright: string;
  readonly changelog: string;
}

/** `${name}` placeholders of a debian/ template; an unknown one is an error, not an empty string. */
export function fillTemplate(text: string, values: Readonly<Record<string, string>>, file: string): string {
  return text.replace(/\$\{(\w+)\}/g, (_, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`${file}: no value for \${${key}}`);
    return value;
  });
}

async function copyTree(from: string, to: string, keep: (rel: string, folder: boolean) => boolean): Promise<void> {
  const walk = async (rel: string): Promise<void> => {
    for (const entry of await readdir(path.join(from, rel), { withFileTypes: true })) {
      const child = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        if (keep(child, true)) await walk(child);
      } else if (entry.isFile() && keep(child, false)) {
        await mkdir(path.join(to, rel), { recursive: true });
        await copyFile(path.join(from, child), path.join(to, child));
      }
    }
  };
  await walk('');
}

async function writeGzip(file: string, text: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  // zlib writes no file name and a zero timestamp: `gzip -9n`, as Debian Policy §12.3/§12.7 want for docs.
  await writeFile(file, gzipSync(Buffer.from(text), { level: 9 }));
}

async function install(root: string, rel: string, content: string | Buffer): Promise<void> {
  await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
  await writeFile(path.join(root, rel), content);
}

/** Every regular file below `root` (relative, `/`-separated), DEBIAN/ excepted. */
export async function listFiles(root: string): Promise<string[]> {
  const files: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const entry of await readdir(path.join(root, rel), { withFileTypes: true })) {
      const child = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        if (child !== 'DEBIAN') await walk(child);
      } else if (entry.isFile()) files.push(child);
    }
  };
  await walk('');
  return files.sort();
}

async function normaliseModes(root: string, executables: ReadonlySet<string>): Promise<string[]> {
  const elfFiles: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    await chmod(path.join(root, rel), 0o755);
    for (const entry of await readdir(path.join(root, rel), { withFileTypes: true })) {
      const child = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        await walk(child);
        continue;
      }
      const elf = await isElf(path.join(root, child));
      if (elf) elfFiles.push(child);
      // A shared object (.node) is loaded, not run: 0644 (Debian Policy §10.9); other ELF files are programs.
      const executable = executables.has(child) || (elf && !child.endsWith('.node') && !/\.so(\.|$)/.test(child));
      await chmod(path.join(root, child), executable ? 0o755 : 0o644);
    }
  };
  await walk('');
  return elfFiles.sort();
}

export interface Tree {
  /** ELF files below the root (the runtime, addons, esbuild's binary): what Depends: is computed from. */
  readonly elfFiles: readonly string[];
}

export async function assembleTree(input: TreeInput): Promise<Tree> {
  const { root, repoRoot, arch } = input;
  const app = path.join(root, APP);
  const debian = (name: string) => readFile(path.join(DEBIAN_DIR, name), 'utf8');

  // The embedded runtime: bin/node and its license only (no npm, headers or docs on the board).
  await mkdir(path.join(app, 'node', 'bin'), { recursive: true });
  await copyFile(input.runtime.binary, path.join(app, 'node', 'bin', 'node'));
  await copyFile(input.runtime.license, path.join(app, 'node', 'LICENSE'));

  // The bundle as scripts/build.mjs wrote it, the shipped templates (not their tests) and the board profiles.
  const dist = path.join(repoRoot, 'dist');
  await copyTree(dist, path.join(app, 'dist'), (rel) => !PACKAGER_OUTPUTS.has(rel.split('/')[0]!));
  await copyTree(path.join(repoRoot, 'agents'), path.join(app, 'agents'), (rel) => !rel.endsWith('.test.ts'));
  await copyTree(path.join(repoRoot, 'board-profiles'), path.join(app, 'board-profiles'), (rel) => rel.endsWith('.json'));
  // ESM: the bundles are .js modules, so Node needs "type": "module" from the nearest package.json.
  const pkg = JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8')) as Record<string, unknown>;
  await install(root, `${APP}/package.json`, `${JSON.stringify({ name: pkg.name, version: input.version, description: pkg.description, license: pkg.license, private: true, type: 'module' }, null, 2)}\n`);
  const firstBoot = path.join(repoRoot, 'scripts', 'openstarry-first-boot');
  if (existsSync(firstBoot)) await copyFile(firstBoot, path.join(app, 'openstarry-first-boot'));

  // node_modules: the shipped packages, pruned, with this architecture's addons.
  for (const p of input.packages) {
    const to = path.join(app, p.rel);
    const from = path.join(input.staging, p.rel);
    const bins = binScripts(JSON.parse(await readFile(path.join(from, 'package.json'), 'utf8')));
    await copyTree(from, to, (rel, folder) => !bins.has(rel) && shipsPath(rel, folder, { prebuildFolder: prebuildFolder(arch), native: p.native !== undefined }));
    if (p.native === 'prebuilt') {
      const folder = path.join(to, 'prebuilds', prebuildFolder(arch));
      for (const f of (await readdir(folder)).filter((f) => f.endsWith('.node'))) await stripSharedObject(arch, path.join(folder, f));
    }
  }
  for (const [rel, release] of input.builtAddons) await cp(release, path.join(app, rel, 'build', 'Release'), { recursive: true });

  // Commands, unit, configuration.
  await install(root, 'usr/bin/openstarryd', await debian('openstarryd'));
  await install(root, 'usr/bin/openstarry', await debian('openstarry'));
  await install(root, 'usr/lib/systemd/system/openstarryd.service', await readFile(path.join(repoRoot, 'scripts', 'openstarryd.service')));
  await install(root, CONFFILE.slice(1), await debian('openstarry.yaml'));

  // Documentation (Debian Policy §12).
  await install(root, 'usr/share/doc/openstarry/copyright', input.copyright);
  // A native package (no Debian revision in its version) names it changelog.gz (Debian Policy §12.7).
  await writeGzip(path.join(root, 'usr/share/doc/openstarry/changelog.gz'), input.changelog);
  for (const [page, section] of [['openstarryd', '8'], ['openstarry', '1']] as const) {
    await writeGzip(path.join(root, `usr/share/man/man${section}/${page}.${section}.gz`), (await debian(`${page}.${section}`)).replaceAll('@VERSION@', input.version));
  }
  await install(root, 'usr/share/lintian/overrides/openstarry', await debian('lintian-overrides'));

  const executables = new Set(['usr/bin/openstarryd', 'usr/bin/openstarry', `${APP}/openstarry-first-boot`]);
  return { elfFiles: await normaliseModes(root, executables) };
}

/** Installed-Size: in KiB, each file rounded up to a whole KiB (as dpkg-gencontrol(1) counts it). */
export async function installedSizeKiB(root: string): Promise<number> {
  let total = 0;
  for (const file of await listFiles(root)) total += Math.ceil((await stat(path.join(root, file))).size / 1024);
  return total;
}
