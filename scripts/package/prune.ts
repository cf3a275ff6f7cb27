/**
 * Which files of a shipped npm package go into the .deb: what Node loads at run time and the package's license,
 * not its sources for other languages, tests, docs, type declarations, source maps or other platforms' binaries.
 * A native package's C/C++ sources and gyp files stay behind (its .node file is built or picked for the target),
 * and of its prebuilds only this architecture's glibc one is kept.
 */
import path from 'node:path';

const SKIPPED_DIRS = new Set(['node_modules', 'test', 'tests', '__tests__', 'example', 'examples', 'doc', 'docs', '.github', 'integration-test', 'benchmark', 'benchmarks', 'coverage']);

const SKIPPED_EXTENSIONS = /\.(md|markdown|ts|mts|cts|map|c|cc|cpp|h|hh|hpp|gyp|gypi|o|a|exe|dll|dylib|pdb|bat|cmd|ps1)$/i;

const SKIPPED_NAMES = /^(Makefile|\.npmignore|\.eslintrc.*|\.prettierrc.*|\.editorconfig|\.travis\.yml|appveyor\.yml|tsconfig.*\.json|\.nvmrc)$/i;

/** Kept whatever the extension: licenses travel with the code (copyright.ts points at them). */
const LICENSE_NAMES = /^(licen[cs]e|copying|notice|authors)(\.|-|$)/i;

/**
 * True when `rel` (a path inside the package, `/`-separated; a folder when `folder`) is shipped.
 * `prebuildFolder` is the target's (`linux-arm64`); `native` says the package is a native addon (its build/
 * folder is replaced by the one built for the target).
 */
export function shipsPath(rel: string, folder: boolean, options: { prebuildFolder: string; native: boolean }): boolean {
  const parts = rel.split('/');
  const name = parts[parts.length - 1]!;
  const folders = folder ? parts : parts.slice(0, -1);
  if (folders.some((p) => SKIPPED_DIRS.has(p))) return false;
  if (options.native && parts[0] === 'build') return false;
  if (parts[0] === 'prebuilds' && parts.length > 1) {
    if (parts[1] !== options.prebuildFolder) return false;
    if (!folder && /musl/.test(name)) return false;
  }
  if (folder) return true;
  if (LICENSE_NAMES.test(name)) return true;
  return !SKIPPED_EXTENSIONS.test(name) && !SKIPPED_NAMES.test(name);
}

/**
 * The command-line scripts a package.json `bin` names (esbuild's launcher, node-gyp-build's helpers): nothing
 * on the board runs them, and the package puts no npm command on the PATH.
 */
export function binScripts(manifest: { bin?: string | Record<string, string> }): Set<string> {
  const bins = typeof manifest.bin === 'string' ? [manifest.bin] : Object.values(manifest.bin ?? {});
  return new Set(bins.map((b) => path.posix.normalize(b)));
}
