/**
 * What Node loads before a bundle in dist/ runs its first line: the file's static imports and, through the chunks
 * esbuild splits out (scripts/build.mjs), theirs. Dynamic import() is not followed: it loads only when called.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';

// esbuild's output: `import{a as b}from"./chunk-X.js"`, `import x from"node:fs"`, `import"./chunk-Y.js"`,
// `export{c}from"./chunk-Z.js"`, each at the start of a line or after a `;`.
const STATIC_IMPORT = /(?:^|[;\n])(?:import\s*(?:(?:[\w$]+|\{[^}]*\}|\*\s*as\s+[\w$]+)(?:\s*,\s*(?:\{[^}]*\}|\*\s*as\s+[\w$]+))?\s*from\s*)?|export\s*(?:\{[^}]*\}|\*(?:\s*as\s+[\w$]+)?)\s*from\s*)["']([^"']+)["']/g;

export function staticImports(text: string): string[] {
  return [...text.matchAll(STATIC_IMPORT)].map((m) => m[1]!);
}

export interface StaticClosure {
  /** The file itself and every file of its own it imports statically, transitively (absolute paths). */
  readonly files: string[];
  /** Every other specifier imported statically: Node built-ins, packages. */
  readonly externals: string[];
}

export async function staticClosure(entry: string): Promise<StaticClosure> {
  const files: string[] = [];
  const externals = new Set<string>();
  const queue = [path.resolve(entry)];
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (files.includes(file)) continue;
    files.push(file);
    for (const spec of staticImports(await readFile(file, 'utf8'))) {
      if (spec.startsWith('./') || spec.startsWith('../')) queue.push(path.resolve(path.dirname(file), spec));
      else externals.add(spec);
    }
  }
  return { files, externals: [...externals] };
}

/** The sources (from each file's linked .map) bundled into those files, relative to the repository root. */
export async function bundledSources(files: readonly string[], root: string): Promise<string[]> {
  const sources = new Set<string>();
  for (const file of files) {
    const map = JSON.parse(await readFile(`${file}.map`, 'utf8')) as { sources?: string[] };
    for (const s of map.sources ?? []) sources.add(path.relative(root, path.resolve(path.dirname(file), s)));
  }
  return [...sources].sort();
}
