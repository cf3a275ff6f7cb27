// What Node loads before a bundle in dist/ runs its first line: the file's static imports and, through the chunks
// esbuild splits out (scripts/build.mjs), theirs. Dynamic import() is not followed: it loads only when called.
// Plain JavaScript: the build (merge-static-chunks.mjs) runs it without a TypeScript loader; the tests read it through
// scripts/testing/bundle-imports.ts.
import { readFile } from 'node:fs/promises';
import path from 'node:path';

// esbuild's output: `import{a as b}from"./chunk-X.js"`, `import x from"node:fs"`, `import"./chunk-Y.js"`,
// `export{c}from"./chunk-Z.js"`, each at the start of a line or after a `;`.
const STATIC_IMPORT = /(?:^|[;\n])(?:import\s*(?:(?:[\w$]+|\{[^}]*\}|\*\s*as\s+[\w$]+)(?:\s*,\s*(?:\{[^}]*\}|\*\s*as\s+[\w$]+))?\s*from\s*)?|export\s*(?:\{[^}]*\}|\*(?:\s*as\s+[\w$]+)?)\s*from\s*)["']([^"']+)["']/g;

/** @param {string} text @returns {string[]} the specifiers of the file's static imports and re-exports */
export function staticImports(text) {
  return [...text.matchAll(STATIC_IMPORT)].map((m) => /** @type {string} */ (m[1]));
}

/**
 * @param {string} entry
 * @returns {Promise<{ files: string[], externals: string[] }>} `files`: the entry and every file of its own it imports
 *   statically, transitively (absolute paths); `externals`: every other specifier imported statically (Node built-ins,
 *   packages).
 */
export async function staticClosure(entry) {
  /** @type {string[]} */
  const files = [];
  const externals = new Set();
  const queue = [path.resolve(entry)];
  while (queue.length > 0) {
    const file = /** @type {string} */ (queue.shift());
    if (files.includes(file)) continue;
    files.push(file);
    for (const spec of staticImports(await readFile(file, 'utf8'))) {
      if (spec.startsWith('./') || spec.startsWith('../')) queue.push(path.resolve(path.dirname(file), spec));
      else externals.add(spec);
    }
  }
  return { files, externals: [...externals] };
}
