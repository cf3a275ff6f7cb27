/**
 * Where the process isolate's entry bundle is. The child runs under Node's permission model with read access to
 * this one file only, so it must be a single self-contained bundle:
 *   - beside the daemon bundle: dist/agent-process.mjs (scripts/build.mjs);
 *   - running from TypeScript source (tests, `npm run openstarry`): process-entry.ts bundled on the fly with esbuild
 *     (a dev dependency, loaded only here) into a fresh temporary folder, once per driver.
 * `.mjs`, so Node needs no package.json lookup (outside the granted path) to know it is ESM.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as Esbuild from 'esbuild';

export const ENTRY_FILE_NAME = 'agent-process.mjs';

export interface EntryFile {
  path: string;
  /** Removes what was built on the fly (nothing for the shipped bundle). Idempotent. */
  dispose(): Promise<void>;
}

/** The bundled entry beside the daemon bundle, if this code runs from the bundle. */
export function bundledEntry(): string | undefined {
  if (!import.meta.url.endsWith('.js')) return undefined;
  const file = fileURLToPath(new URL(`./${ENTRY_FILE_NAME}`, import.meta.url));
  return existsSync(file) ? file : undefined;
}

/** Bundles process-entry.ts into a new temporary folder (readable by all: the child may run as another user). */
export async function buildEntryFromSource(): Promise<EntryFile> {
  // A computed specifier keeps esbuild (the bundler) out of the daemon bundle; the bundle never gets here.
  const esbuildName = 'esbuild';
  const { build } = (await import(esbuildName)) as typeof Esbuild;
  const dir = await mkdtemp(path.join(tmpdir(), 'openstarry-agent-process-'));
  const file = path.join(dir, ENTRY_FILE_NAME);
  try {
    await build({
      entryPoints: [fileURLToPath(new URL('./process-entry.ts', import.meta.url))],
      outfile: file,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      logLevel: 'warning',
    });
    await chmod(dir, 0o755);
    await chmod(file, 0o644);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  let disposed: Promise<void> | undefined;
  return { path: file, dispose: () => (disposed ??= rm(dir, { recursive: true, force: true })) };
}

export async function resolveEntryFile(): Promise<EntryFile> {
  const bundled = bundledEntry();
  return bundled ? { path: bundled, dispose: async () => undefined } : buildEntryFromSource();
}
