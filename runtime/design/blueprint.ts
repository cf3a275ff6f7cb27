/**
 * A blueprint is what an agent is spawned from: its validated manifest plus an in-memory snapshot of the agent
 * folder's module files. Spec 002 "configuration immutability": the blueprint is frozen at spawn, so editing
 * agent.json or a plugin on disk changes nothing for a running agent — nor for its policy restarts — until it is
 * spawned again. The snapshot also means the isolate needs no file-system access to load its plugins.
 */
import { createHash } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { deepFreeze } from '../core/deep-freeze.ts';
import { ErrorCode, OpenStarryError } from '../errors.ts';
import type { Problem } from '../validation.ts';
import { formatProblems, zodProblems } from '../validation.ts';
import type { Manifest } from './manifest-schema.ts';
import { manifestSchema } from './manifest-schema.ts';

export interface Blueprint {
  readonly manifest: Readonly<Manifest>;
  readonly manifestPath: string;
  /** Absolute folder of agent.json; plugin paths are relative to it. */
  readonly rootDir: string;
  /** Relative path (posix separators) -> module source, for every .js/.mjs file in the agent folder. */
  readonly files: Readonly<Record<string, string>>;
  /** sha256 over the manifest text and every file, so `templates` can show what exactly runs. */
  readonly hash: string;
}

/** Limits on what one agent folder may hold; a folder over them is a manifest error, not a slow spawn. */
export const BLUEPRINT_LIMITS = { maxFiles: 256, maxBytes: 8 * 1024 * 1024, maxDepth: 8 } as const;

export { deepFreeze } from '../core/deep-freeze.ts';

/** Parses and validates manifest text; throws ERR_MANIFEST_INVALID listing every problem with its field path. */
export function parseManifest(text: string, file: string): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new OpenStarryError(ErrorCode.MANIFEST_INVALID, `${file}: (document): not valid JSON: ${(err as Error).message}`, {
      details: { file, problems: [{ path: '', message: `not valid JSON: ${(err as Error).message}` }] },
    });
  }
  const result = manifestSchema.safeParse(json);
  if (!result.success) {
    const problems = zodProblems(result.error);
    throw new OpenStarryError(ErrorCode.MANIFEST_INVALID, formatProblems(file, problems), { details: { file, problems } });
  }
  return result.data;
}

/** Reads, validates and snapshots an agent folder. Every problem is reported at once, with file and field. */
export async function loadBlueprint(manifestPath: string): Promise<Blueprint> {
  return (await loadTemplateFolder(manifestPath)).blueprint;
}

/**
 * loadBlueprint plus the manifest text exactly as read: the design-layer service sends both, so the daemon on
 * the other end recomputes the same hash from the same bytes (runtime/design/template-package.ts).
 */
export async function loadTemplateFolder(manifestPath: string): Promise<{ blueprint: Blueprint; manifestText: string }> {
  const absolute = path.resolve(manifestPath);
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (err) {
    throw new OpenStarryError(ErrorCode.MANIFEST_INVALID, `${absolute}: cannot read manifest: ${(err as Error).message}`, { cause: err });
  }
  const manifest = parseManifest(text, absolute);
  const rootDir = path.dirname(absolute);
  const files = await snapshotModules(rootDir, absolute);
  const problems = missingPlugins(manifest, files, rootDir);
  if (problems.length > 0) {
    throw new OpenStarryError(ErrorCode.MANIFEST_INVALID, formatProblems(absolute, problems), { details: { file: absolute, problems } });
  }
  const blueprint = deepFreeze({ manifest, manifestPath: absolute, rootDir, files, hash: blueprintHash(text, files) });
  return { blueprint, manifestText: text };
}

/** Every plugin the manifest names that is not among `files` (a signed bundle is checked with this too: bundle.ts). */
export function missingPlugins(manifest: Manifest, files: Readonly<Record<string, string>>, rootDir: string): Problem[] {
  const problems: Problem[] = [];
  manifest.plugins.forEach((p, i) => {
    if (!Object.hasOwn(files, normalise(p))) problems.push({ path: `plugins.${i}`, message: `plugin file "${p}" does not exist in ${rootDir}` });
  });
  return problems;
}

/** sha256 over the manifest text and every module (sorted by path): the template's identity everywhere. */
export function blueprintHash(manifestText: string, files: Readonly<Record<string, string>>): string {
  const hash = createHash('sha256').update(manifestText);
  for (const rel of Object.keys(files).sort()) hash.update(`\0${rel}\0${files[rel]}`);
  return hash.digest('hex');
}

export function normalise(rel: string): string {
  return path.posix.normalize(rel.replaceAll('\\', '/')).replace(/^\.\//, '');
}

async function snapshotModules(rootDir: string, manifestFile: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  let count = 0;
  let bytes = 0;
  const walk = async (dir: string, depth: number): Promise<void> => {
    if (depth > BLUEPRINT_LIMITS.maxDepth) return;
    const entries = await readdir(dir, { withFileTypes: true });
    for (const entry of entries) {
      if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        await walk(full, depth + 1);
      } else if (entry.isFile() && /\.m?js$/.test(entry.name)) {
        const size = (await stat(full)).size;
        count += 1;
        bytes += size;
        if (count > BLUEPRINT_LIMITS.maxFiles || bytes > BLUEPRINT_LIMITS.maxBytes) {
          throw new OpenStarryError(
            ErrorCode.MANIFEST_INVALID,
            `${manifestFile}: agent folder holds more than ${BLUEPRINT_LIMITS.maxFiles} modules or ${BLUEPRINT_LIMITS.maxBytes} bytes of code; bundle it`,
          );
        }
        files[normalise(path.relative(rootDir, full))] = await readFile(full, 'utf8');
      }
    }
  };
  await walk(rootDir, 0);
  return files;
}
