// Merges the chunks a bundle in dist/ loads statically into one chunk (issue 12: an instant CLI). esbuild's code
// splitting gives every set of modules shared by a different mix of entries and import()s a chunk of its own, so
// `openstarry ps` loaded 17 files, and each ES module costs Node's loader a resolve, a read, a parse and a link:
// one chunk instead saved ~10 ms of a ~150 ms call on Node 20 and ~13 ms on Node 22 (README "Performance").
// The merged chunk holds exactly the modules those chunks held, once: every file that imported one of them (the
// daemon, the chunks import() loads) imports the merged one instead, so no module is ever loaded twice.
import { createHash } from 'node:crypto';
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';
import { staticClosure } from './static-imports.mjs';

/** A chunk's own exports: esbuild ends each with `export{a,b as c};`. */
const EXPORTS = /(?:^|[;\n])export\{([^}]*)\};?\s*(?:\/\/# sourceMappingURL=\S+\s*)?$/;

/** The chunks (file names in `dir`) `entry` loads statically, directly or through other chunks. */
async function staticChunks(dir, entry) {
  const { files } = await staticClosure(path.join(dir, entry));
  return files.map((f) => path.basename(f)).filter((f) => /^chunk-[A-Z0-9]+\.js$/.test(f)).sort();
}

/**
 * Merges `entry`'s static chunks (dist/ file names) into one; returns its name, or undefined when there was nothing to
 * merge or two chunks export the same name (then dist/ is left as esbuild wrote it, with a warning).
 */
export async function mergeStaticChunks(dir, entry) {
  const chunks = await staticChunks(dir, entry);
  if (chunks.length < 2) return undefined;
  const exported = new Map();
  for (const chunk of chunks) {
    const text = await readFile(path.join(dir, chunk), 'utf8');
    const list = EXPORTS.exec(text)?.[1] ?? '';
    for (const item of list.split(',').filter(Boolean)) {
      const name = item.split(' as ').pop().trim();
      if (exported.has(name)) {
        console.warn(`merge-static-chunks: ${name} is exported by ${exported.get(name)} and ${chunk}; ${entry}'s chunks left apart`);
        return undefined;
      }
      exported.set(name, chunk);
    }
  }
  const merged = new Set(chunks);
  const result = await build({
    stdin: { contents: chunks.map((c) => `export * from './${c}';`).join('\n'), resolveDir: dir, sourcefile: 'merged-chunks.js' },
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    minifyWhitespace: true,
    sourcemap: 'external',
    outfile: path.join(dir, 'chunk-MERGED.js'),
    write: false,
    logLevel: 'warning',
    plugins: [
      {
        name: 'leave-outside',
        setup(b) {
          // Builtins stay imports; a chunk reached only by import() stays its own file, loaded when called.
          b.onResolve({ filter: /^node:/ }, (a) => ({ path: a.path, external: true }));
          b.onResolve({ filter: /^\.\/chunk-/ }, (a) => (a.kind === 'dynamic-import' && !merged.has(a.path.slice(2)) ? { path: a.path, external: true } : undefined));
        },
      },
    ],
  });
  const code = result.outputFiles.find((f) => f.path.endsWith('.js'));
  const map = result.outputFiles.find((f) => f.path.endsWith('.map'));
  const name = `chunk-${createHash('sha256').update(code.contents).digest('hex').slice(0, 8).toUpperCase()}.js`;
  await writeFile(path.join(dir, name), code.text.replace(/\/\/# sourceMappingURL=chunk-MERGED\.js\.map/, `//# sourceMappingURL=${name}.map`));
  await writeFile(path.join(dir, `${name}.map`), map.contents);
  // Every ES module in dist/ that named a merged chunk names the merged one.
  for (const file of (await readdir(dir)).filter((f) => f.endsWith('.js') && f !== name)) {
    const text = await readFile(path.join(dir, file), 'utf8');
    const next = text.replace(/(["'])\.\/(chunk-[A-Z0-9]+\.js)\1/g, (whole, q, chunk) => (merged.has(chunk) ? `${q}./${name}${q}` : whole));
    if (next !== text) await writeFile(path.join(dir, file), next);
  }
  for (const chunk of chunks) for (const f of [chunk, `${chunk}.map`]) await rm(path.join(dir, f), { force: true });
  return name;
}
