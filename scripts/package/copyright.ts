/**
 * /usr/share/doc/openstarry/copyright in the machine-readable format (DEP-5, "copyright-format 1.0", Debian
 * Policy §12.5): the project under Apache-2.0, the embedded Node runtime under MIT, every npm package esbuild
 * bundled into dist/ (read from the bundles' source maps, so the list is what was really bundled) and every npm
 * package shipped in node_modules/, each with its license; the full text of each license once at the end.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const LICENSE_TEXTS = fileURLToPath(new URL('./debian/licenses/', import.meta.url));

export interface LicensedPackage {
  readonly name: string;
  readonly version: string;
  /** SPDX expression from package.json, e.g. `MIT` or `(MIT OR Apache-2.0)`. */
  readonly license: string;
}

/** `(MIT OR Apache-2.0)` -> `MIT or Apache-2.0` (DEP-5 spells the operators in lower case). */
export function dep5License(spdx: string): string {
  return spdx.replace(/[()]/g, '').replace(/\s+OR\s+/g, ' or ').replace(/\s+AND\s+/g, ' and ').trim();
}

/** The license names in an expression: `MIT or Apache-2.0` -> [`MIT`, `Apache-2.0`]. */
export function licenseNames(expression: string): string[] {
  return dep5License(expression).split(/\s+(?:or|and)\s+/);
}

/** npm packages in a bundle, from the `sources` of its source map (`../node_modules/<name>/...`, innermost). */
export function bundledPackageDirs(mapSources: readonly string[]): string[] {
  const dirs = new Set<string>();
  for (const source of mapSources) {
    const parts = source.split('/');
    const at = parts.lastIndexOf('node_modules');
    if (at < 0 || at + 1 >= parts.length) continue;
    const scoped = parts[at + 1]!.startsWith('@');
    dirs.add(parts.slice(0, at + (scoped ? 3 : 2)).join('/'));
  }
  return [...dirs];
}

/** Every npm package the bundles in `distDir` contain, read from the repository's node_modules. */
export async function bundledPackages(distDir: string): Promise<LicensedPackage[]> {
  const found = new Map<string, LicensedPackage>();
  for (const file of (await readdir(distDir)).filter((f) => f.endsWith('.map'))) {
    const map = JSON.parse(await readFile(path.join(distDir, file), 'utf8')) as { sources?: string[] };
    for (const rel of bundledPackageDirs(map.sources ?? [])) {
      const manifest = path.resolve(distDir, rel, 'package.json');
      if (!existsSync(manifest)) continue;
      const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string; version?: string; license?: string };
      const name = pkg.name ?? path.basename(rel);
      found.set(`${name}@${pkg.version}`, { name, version: pkg.version ?? '?', license: pkg.license ?? 'UNKNOWN' });
    }
  }
  return [...found.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** The first `Copyright ...` line of a package's license file, for the Copyright: field. */
export function copyrightHolder(licenseText: string | undefined, name: string): string {
  const line = licenseText?.split('\n').map((l) => l.trim()).find((l) => /^copyright\b/i.test(l) && !/notice/i.test(l));
  return line ? line.replace(/^copyright\s*(\(c\)|©)?\s*/i, '').trim() || `the ${name} authors` : `the ${name} authors`;
}

function licenseParagraph(name: string): string {
  const file = path.join(LICENSE_TEXTS, name);
  if (!existsSync(file)) throw new Error(`no text for license ${name}: add it to scripts/package/debian/licenses/${name}`);
  const text = readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => (l.trim() === '' ? ' .' : ` ${l}`));
  return [`License: ${name}`, ...text].join('\n');
}

export interface ShippedLicensedPackage extends LicensedPackage {
  /** Installed folder below the package root, e.g. `usr/lib/openstarry/node_modules/i2c-bus`. */
  readonly installedDir: string;
  readonly holder: string;
}

export interface CopyrightInput {
  readonly projectLicense: string;
  readonly nodeVersion: string;
  readonly nodePackage: string;
  readonly bundled: readonly LicensedPackage[];
  readonly shipped: readonly ShippedLicensedPackage[];
}

export function copyrightFile(input: CopyrightInput): string {
  const used = new Set<string>(licenseNames(input.projectLicense));
  const bundledLicenses = new Set<string>([dep5License(input.projectLicense)]);
  for (const p of input.bundled) {
    bundledLicenses.add(dep5License(p.license));
    for (const n of licenseNames(p.license)) used.add(n);
  }
  used.add('MIT');
  const paragraphs = [
    [
      'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/',
      'Upstream-Name: openstarry',
      'Comment: A binary package built by scripts/package/ of the openstarry repository.',
    ].join('\n'),
    ['Files: *', 'Copyright: OpenStarry contributors', `License: ${dep5License(input.projectLicense)}`].join('\n'),
    [
      'Files: usr/lib/openstarry/dist/*',
      'Copyright: OpenStarry contributors, and the authors of the npm packages named below',
      `License: ${[...bundledLicenses].join(' and ')}`,
      'Comment: esbuild bundled these npm packages into these files (name, version: license):',
      ...input.bundled.map((p) => ` ${p.name} ${p.version}: ${dep5License(p.license)}`),
    ].join('\n'),
    [
      'Files: usr/lib/openstarry/node/*',
      'Copyright: Node.js contributors. All rights reserved.',
      'License: MIT',
      `Comment: Node.js ${input.nodeVersion}, from the npm package ${input.nodePackage}. Its file`,
      ' /usr/lib/openstarry/node/LICENSE names the licenses of the libraries built into it (V8, libuv,',
      ' OpenSSL, ICU, llhttp, zlib and others).',
    ].join('\n'),
    ...input.shipped.map((p) => {
      for (const n of licenseNames(p.license)) used.add(n);
      return [`Files: ${p.installedDir}/*`, `Copyright: ${p.holder}`, `License: ${dep5License(p.license)}`, `Comment: npm package ${p.name} ${p.version}`].join('\n');
    }),
  ];
  for (const name of [...used].sort()) paragraphs.push(licenseParagraph(name));
  return `${paragraphs.join('\n\n')}\n`;
}
