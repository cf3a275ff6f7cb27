/**
 * The packager's cache of slow results (the extracted Node runtime, each architecture's modules with their
 * cross-built addons), one folder per key under the cache root (default dist/package-cache/). A key names
 * everything its content depends on, so a stale entry is never reused: it is simply not looked up again.
 *
 * Filling is atomic: content is made in a temp folder beside the entry and renamed into place, so an interrupted
 * build leaves no half entry, and two builds filling the same key at once (two test files) both succeed — the
 * first rename wins and the other copy is dropped.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import path from 'node:path';

export function cacheKey(...parts: readonly (string | Buffer)[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part).update('\0');
  return hash.digest('hex').slice(0, 16);
}

/** The folder `<root>/<name>`, made by `fill(folder)` unless it is already there. */
export async function cachedDir(root: string, name: string, fill: (dir: string) => Promise<void>): Promise<string> {
  const dir = path.join(root, name);
  if (existsSync(dir)) return dir;
  await mkdir(root, { recursive: true });
  const temp = await mkdtemp(path.join(root, `.tmp-${name}-`));
  try {
    await fill(temp);
    await rename(temp, dir);
  } catch (err) {
    await rm(temp, { recursive: true, force: true });
    // Another build put the same entry in place first: its content is equivalent (same key).
    const code = (err as NodeJS.ErrnoException).code;
    if ((code === 'ENOTEMPTY' || code === 'EEXIST') && existsSync(dir)) return dir;
    throw err;
  }
  return dir;
}
