/**
 * The DEBIAN/ control area (deb-control(5), deb-conffiles(5), deb-md5sums(5)) and the dpkg-deb(1) call that
 * turns the assembled root into a .deb. `--root-owner-group` makes every file root:root without fakeroot.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cacheKey } from './cache.ts';
import type { Compression } from './options.ts';
import { run } from './run.ts';
import { CONFFILE, DEBIAN_DIR, fillTemplate, listFiles } from './tree.ts';

export interface ControlValues {
  readonly version: string;
  readonly arch: string;
  readonly maintainer: string;
  readonly installedSize: number;
  readonly depends: readonly string[];
  readonly nodeVersion: string;
}

export async function writeControlArea(root: string, values: ControlValues): Promise<void> {
  const dir = path.join(root, 'DEBIAN');
  await mkdir(dir, { recursive: true });
  const template = await readFile(path.join(DEBIAN_DIR, 'control'), 'utf8');
  const control = fillTemplate(template, { ...values, installedSize: String(values.installedSize), depends: values.depends.join(', ') }, 'scripts/package/debian/control');
  await writeFile(path.join(dir, 'control'), control);
  // dpkg keeps an admin's edits of a conffile across upgrades and asks before replacing them.
  await writeFile(path.join(dir, 'conffiles'), `${CONFFILE}\n`);
  const sums: string[] = [];
  for (const file of await listFiles(root)) {
    if (`/${file}` === CONFFILE) continue; // dpkg tracks conffiles' sums itself (deb-md5sums(5))
    sums.push(`${createHash('md5').update(await readFile(path.join(root, file))).digest('hex')}  ${file}`);
  }
  await writeFile(path.join(dir, 'md5sums'), `${sums.join('\n')}\n`);
  for (const script of ['postinst', 'prerm', 'postrm']) {
    await copyFile(path.join(DEBIAN_DIR, script), path.join(dir, script));
    await chmod(path.join(dir, script), 0o755);
  }
  for (const file of ['control', 'conffiles', 'md5sums']) await chmod(path.join(dir, file), 0o644);
}

export async function buildDeb(root: string, output: string, compression: Compression): Promise<void> {
  await mkdir(path.dirname(output), { recursive: true });
  await run('dpkg-deb', ['--root-owner-group', `-Z${compression}`, '--build', root, output]);
}

/** What the .deb holds: the control area, every file's content (md5sums) and mode, the conffile. */
async function contentKey(root: string, compression: Compression): Promise<string> {
  const parts: (string | Buffer)[] = [compression];
  for (const file of ['control', 'conffiles', 'md5sums', 'postinst', 'prerm', 'postrm']) parts.push(await readFile(path.join(root, 'DEBIAN', file)));
  parts.push(await readFile(path.join(root, CONFFILE)));
  for (const file of await listFiles(root)) parts.push(`${(await stat(path.join(root, file))).mode.toString(8)} ${file}`);
  return cacheKey(...parts);
}

/**
 * dpkg-deb(1) with compression is most of a warm build (xz: about a minute per package here), so the last
 * package built per architecture and compression is kept in the cache and copied when nothing in it changed.
 * Returns true when the cached package was used. Uncompressed packages take seconds: never cached.
 */
export async function buildDebCached(root: string, output: string, compression: Compression, cacheRoot: string, arch: string): Promise<boolean> {
  if (compression === 'none') {
    await buildDeb(root, output, compression);
    return false;
  }
  const dir = path.join(cacheRoot, 'debs');
  const prefix = `${arch}-${compression}-`;
  const cached = path.join(dir, `${prefix}${await contentKey(root, compression)}.deb`);
  await mkdir(path.dirname(output), { recursive: true });
  if (existsSync(cached)) {
    await copyFile(cached, output);
    return true;
  }
  await buildDeb(root, output, compression);
  await mkdir(dir, { recursive: true });
  for (const old of (await readdir(dir)).filter((f) => f.startsWith(prefix))) await rm(path.join(dir, old), { force: true });
  const temp = `${cached}.${process.pid}.tmp`;
  await copyFile(output, temp);
  await rename(temp, cached);
  return false;
}
