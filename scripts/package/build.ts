/**
 * `npm run package`: builds dist/deb/openstarry_<version>_<arch>.deb for arm64 and amd64 (README "Layout").
 * Each carries the esbuild bundle, the shipped templates and board profiles, the modules that cannot be bundled
 * with native addons built for that architecture, and its own Node runtime (scripts/package/arch.ts).
 * Slow steps are cached in dist/package-cache/; a fresh clone builds from nothing (network to npm only).
 */
import { execFileSync } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ARCHES, hostDebArch } from './arch.ts';
import { parseOptions, USAGE } from './options.ts';
import { buildPackage } from './recipe.ts';
import { run } from './run.ts';
import { checkTools, requiredTools } from './tools.ts';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Who the package names as Maintainer: dch(1)'s variables when set, else a placeholder (RFC 2606 .invalid). */
function maintainer(env: NodeJS.ProcessEnv): string {
  return `${env.DEBFULLNAME ?? 'OpenStarry developers'} <${env.DEBEMAIL ?? 'maintainers@openstarry.invalid'}>`;
}

/** The changelog date: SOURCE_DATE_EPOCH (reproducible builds), else the commit's time, else now. */
function changelogDate(env: NodeJS.ProcessEnv): string {
  let seconds = Number(env.SOURCE_DATE_EPOCH);
  if (!Number.isFinite(seconds) || env.SOURCE_DATE_EPOCH === undefined) {
    try {
      seconds = Number(execFileSync('git', ['log', '-1', '--format=%ct'], { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    } catch {
      seconds = NaN;
    }
  }
  const date = Number.isFinite(seconds) && seconds > 0 ? new Date(seconds * 1000) : new Date();
  return date.toUTCString().replace('GMT', '+0000');
}

async function main(argv: readonly string[]): Promise<number> {
  const options = parseOptions(argv, REPO_ROOT);
  if (options.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const arches = options.arches.map((a) => ARCHES[a]);
  checkTools(requiredTools(arches, hostDebArch()));
  const started = performance.now();
  if (options.build) {
    process.stdout.write('building dist/ (scripts/build.mjs)\n');
    await run(process.execPath, [path.join(REPO_ROOT, 'scripts', 'build.mjs')], { cwd: REPO_ROOT });
  }
  const pkg = JSON.parse(await readFile(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  for (const arch of arches) {
    const archStarted = performance.now();
    const built = await buildPackage({
      repoRoot: REPO_ROOT,
      arch,
      version: options.version ?? pkg.version,
      outDir: options.outDir,
      cacheDir: options.cacheDir,
      compression: options.compression,
      maintainer: maintainer(process.env),
      date: changelogDate(process.env),
      log: (line) => process.stdout.write(`${line}\n`),
    });
    const { size } = await stat(built.file);
    process.stdout.write(
      `${path.relative(process.cwd(), built.file)}: ${(size / 2 ** 20).toFixed(1)} MiB, installed ${(built.installedSizeKiB / 1024).toFixed(1)} MiB, ` +
        `Depends: ${built.depends.join(', ')} (${((performance.now() - archStarted) / 1000).toFixed(1)} s${built.reused ? ', unchanged: copied from the cache' : ''})\n`,
    );
  }
  process.stdout.write(`done in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`package: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
