/**
 * What the tests read of the bundles in dist/: their static imports (scripts/build/static-imports.mjs, shared with the
 * build) and the sources each file holds.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';

export { staticClosure, staticImports } from '../build/static-imports.mjs';

/** The sources (from each file's linked .map) bundled into those files, relative to the repository root. */
export async function bundledSources(files: readonly string[], root: string): Promise<string[]> {
  const sources = new Set<string>();
  for (const file of files) {
    const map = JSON.parse(await readFile(`${file}.map`, 'utf8')) as { sources?: string[] };
    for (const s of map.sources ?? []) sources.add(path.relative(root, path.resolve(path.dirname(file), s)));
  }
  return [...sources].sort();
}
