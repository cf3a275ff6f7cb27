/**
 * The page's files (issue 15 "Works offline": every asset served by the daemon, no CDN), built by scripts/build.mjs
 * into dist/dashboard/ and read from disk at request time only: the daemon holds none of them in memory and loads
 * no UI code (issue 12, README "Performance"). Only plain file names the build writes are served, never a path.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** `/` -> index.html; `/app.js` -> app.js; anything else (folders, dots, unknown types) -> undefined. */
export function assetName(urlPath: string): string | undefined {
  if (urlPath === '/' || urlPath === '/index.html') return 'index.html';
  const m = /^\/([a-z0-9][a-z0-9-]*\.[a-z]+)$/.exec(urlPath);
  return m && Object.hasOwn(TYPES, path.extname(m[1]!)) ? m[1] : undefined;
}

/** The file's bytes and content type, or undefined when the build did not write it. */
export async function readAsset(dir: string, name: string): Promise<{ body: Buffer; type: string } | undefined> {
  try {
    return { body: await readFile(path.join(dir, name)), type: TYPES[path.extname(name)] ?? 'application/octet-stream' };
  } catch {
    return undefined;
  }
}
