/**
 * Builds a native addon for the package's architecture against the embedded Node's own headers, with npm's
 * bundled node-gyp and the target's GNU toolchain (README "Layout"), then strips it. The
 * result (build/Release/*.node) is cached per architecture, Node version, addon source and this recipe, so only
 * a change rebuilds it.
 *
 * npm's variables are kept out of node-gyp's environment: an `npm run package` exports npm_config_nodedir (root's
 * ~/.npmrc here sets nodedir=/usr, the HOST Node's headers), which would override --nodedir and build against
 * the wrong Node.
 */
import { readFile, cp, mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ArchSpec } from './arch.ts';
import { cacheKey, cachedDir } from './cache.ts';
import type { NodeRuntime } from './node-runtime.ts';
import { run } from './run.ts';
import { stripSharedObject } from './strip.ts';

const COMPAT_HEADER = fileURLToPath(new URL('./glibc-compat.h', import.meta.url));

/** npm's bundled node-gyp: npm names it in scripts it runs, else it sits beside the Node running this. */
export function nodeGypScript(env: NodeJS.ProcessEnv = process.env, execPath: string = process.execPath): string {
  return env.npm_config_node_gyp ?? path.join(path.dirname(execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
}

/** The environment node-gyp runs in: no npm_* variables, the target's compilers, the glibc pin. */
export function addonBuildEnv(arch: ArchSpec, env: NodeJS.ProcessEnv, modulePath: string | undefined): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(Object.entries(env).filter(([k]) => !/^npm_/i.test(k)));
  return {
    ...clean,
    CC: `${arch.triplet}-gcc`,
    CXX: `${arch.triplet}-g++`,
    LINK: `${arch.triplet}-g++`,
    AR: `${arch.triplet}-ar`,
    CPPFLAGS: `-include ${COMPAT_HEADER}`,
    // An addon's binding.gyp finds its header-only build dependencies (nan, node-addon-api) with require().
    ...(modulePath ? { NODE_PATH: modulePath } : {}),
  };
}

export interface AddonSource {
  /** For the cache entry's name: `i2c-bus`, `native-sd-notify`. */
  readonly name: string;
  /** The folder holding binding.gyp. It is copied: the build never writes there. */
  readonly dir: string;
  /** What identifies the source: `<name>@<version>` for an npm package, a content hash for the repo's own. */
  readonly identity: string;
  /** node_modules folder with its build dependencies (nan...), if any. */
  readonly modulePath?: string;
}

/** The Release folder holding this addon's stripped .node files for `arch` (built on the first call, cached after). */
export async function buildAddon(source: AddonSource, arch: ArchSpec, runtime: NodeRuntime, cacheRoot: string): Promise<string> {
  const recipe = await Promise.all([readFile(COMPAT_HEADER), readFile(fileURLToPath(import.meta.url))]);
  const key = cacheKey(arch.deb, runtime.version, source.identity, ...recipe);
  const gyp = nodeGypScript();
  const dir = await cachedDir(cacheRoot, `addon-${arch.deb}-${source.name.replace(/[^A-Za-z0-9.-]/g, '-')}-${key}`, async (temp) => {
    const work = path.join(temp, 'src');
    await cp(source.dir, work, { recursive: true, filter: (from) => !['node_modules', 'build'].includes(path.basename(from)) || from === source.dir });
    const env = addonBuildEnv(arch, process.env, source.modulePath);
    await run(process.execPath, [gyp, 'rebuild', `--arch=${arch.npmCpu}`, `--nodedir=${runtime.nodedir}`], { cwd: work, env });
    const release = path.join(work, 'build', 'Release');
    const built = (await readdir(release)).filter((f) => f.endsWith('.node'));
    if (built.length === 0) throw new Error(`${source.name}: node-gyp built no .node file in ${release}`);
    await mkdir(path.join(temp, 'Release'));
    for (const file of built) {
      await cp(path.join(release, file), path.join(temp, 'Release', file));
      await stripSharedObject(arch, path.join(temp, 'Release', file));
    }
    await rm(work, { recursive: true });
  });
  return path.join(dir, 'Release');
}
