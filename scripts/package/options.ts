/**
 * `npm run package -- [--arch arm64|amd64]... [--out DIR] [--version V] [--no-build] [--compression xz|gzip|none]
 * [--cache DIR]`: which packages to build and where. Parsed strictly (node:util parseArgs): a typo is an error.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { DebArch } from './arch.ts';
import { isDebArch } from './arch.ts';

export const USAGE = `usage: npm run package -- [options]
  --arch arm64|amd64      build this architecture (repeatable; default: both)
  --out DIR               write the .deb files here (default: dist/deb)
  --version V             the package version (default: package.json's); e.g. to build an upgrade
  --no-build              package the existing dist/ instead of running scripts/build.mjs first
  --compression xz|gzip|none   dpkg-deb's compression (default: xz, the smallest to copy to a board)
  --cache DIR             where slow results are kept between runs (default: dist/package-cache)`;

export type Compression = 'xz' | 'gzip' | 'none';

export interface PackageOptions {
  readonly arches: readonly DebArch[];
  readonly outDir: string;
  readonly version: string | undefined;
  readonly build: boolean;
  readonly compression: Compression;
  readonly cacheDir: string;
  readonly help: boolean;
}

/** Debian Policy §5.6.12: a version starts with a digit and holds only alphanumerics and `. + ~ -`. */
const DEBIAN_VERSION = /^[0-9][A-Za-z0-9.+~-]*$/;

export function parseOptions(argv: readonly string[], repoRoot: string): PackageOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      arch: { type: 'string', multiple: true },
      out: { type: 'string' },
      version: { type: 'string' },
      'no-build': { type: 'boolean' },
      compression: { type: 'string' },
      cache: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  const arches: DebArch[] = [];
  for (const arch of values.arch ?? ['arm64', 'amd64']) {
    if (!isDebArch(arch)) throw new Error(`--arch ${arch}: must be arm64 or amd64 (armhf is not built: npm's newest armv7l Node is 20.11)`);
    if (!arches.includes(arch)) arches.push(arch);
  }
  if (values.version !== undefined && !DEBIAN_VERSION.test(values.version)) throw new Error(`--version ${values.version}: not a Debian version (digits first, then letters, digits and . + ~ -)`);
  const compression = values.compression ?? 'xz';
  if (compression !== 'xz' && compression !== 'gzip' && compression !== 'none') throw new Error(`--compression ${compression}: must be xz, gzip or none`);
  return {
    arches,
    outDir: path.resolve(values.out ?? path.join(repoRoot, 'dist', 'deb')),
    version: values.version,
    build: !values['no-build'],
    compression,
    cacheDir: path.resolve(values.cache ?? path.join(repoRoot, 'dist', 'package-cache')),
    help: values.help ?? false,
  };
}
