/**
 * The folder of signed bundles the design-layer service serves (`openstarry design-layer serve --bundles DIR`;
 * README "Deploying updates"): every `*.osb` file in it, as `openstarry deploy pack` writes them, known by the
 * template id and version inside the file, not by its name (a renamed file is still found, and a name cannot lie).
 *
 * The service does not check signatures: it holds no trust, and every board checks each bundle against its own
 * `deploy.trustedKeys` (bundle.ts verifyBundle). It only reads what a file says it is, to route
 * `GET /bundles/<id>/<version>` to it. The folder is listed on each request, and a file is read again only when its
 * size or mtime changed, so copying a new bundle in publishes it without a restart.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { BUNDLE_EXTENSION } from './bundle-format.ts';
import { byCodeUnits } from './code-unit-order.ts';
import { AGENT_ID, SEMVER } from './manifest-schema.ts';

export interface BundleFile {
  id: string;
  version: string;
  file: string;
  /** sha256 (hex) of the file: what a fleet deployment document names. */
  sha256: string;
  bytes: number;
}

export interface BundleScan {
  /** id -> version -> file. */
  bundles: Map<string, Map<string, BundleFile>>;
  /** Files that are not bundles, or a second file for an id@version already served. */
  invalid: { file: string; error: string }[];
}

/** Bounds: more files than this in the folder, or a file larger than this, is reported, not read. */
export const BUNDLE_DIRECTORY_LIMITS = { maxFiles: 4096, maxFileBytes: 256 * 1024 * 1024 } as const;

interface Cached {
  size: number;
  mtimeMs: number;
  entry: BundleFile | { error: string };
}

export class BundleDirectory {
  readonly dir: string;
  readonly #cache = new Map<string, Cached>();

  constructor(dir: string) {
    this.dir = path.resolve(dir);
  }

  async scan(): Promise<BundleScan> {
    const names = (await readdir(this.dir, { withFileTypes: true }))
      .filter((e) => e.isFile() && e.name.endsWith(BUNDLE_EXTENSION) && !e.name.startsWith('.'))
      .map((e) => e.name)
      .sort(byCodeUnits);
    const bundles = new Map<string, Map<string, BundleFile>>();
    const invalid: BundleScan['invalid'] = [];
    for (const name of names.slice(0, BUNDLE_DIRECTORY_LIMITS.maxFiles)) {
      const file = path.join(this.dir, name);
      const entry = await this.#read(file);
      if (entry === undefined) continue;
      if ('error' in entry) {
        invalid.push({ file, error: `${file}: ${entry.error}` });
        continue;
      }
      const versions = bundles.get(entry.id) ?? new Map<string, BundleFile>();
      const clash = versions.get(entry.version);
      if (clash) {
        invalid.push({ file, error: `${file}: ${entry.id}@${entry.version} is already served from ${clash.file}` });
        continue;
      }
      versions.set(entry.version, entry);
      bundles.set(entry.id, versions);
    }
    if (names.length > BUNDLE_DIRECTORY_LIMITS.maxFiles) invalid.push({ file: this.dir, error: `${this.dir}: more than ${BUNDLE_DIRECTORY_LIMITS.maxFiles} bundles; the rest are not served` });
    const listed = new Set(names.map((name) => path.join(this.dir, name)));
    for (const cached of this.#cache.keys()) if (!listed.has(cached)) this.#cache.delete(cached);
    return { bundles, invalid };
  }

  /**
   * What the file says it is; undefined when it vanished between the listing and the read. A file that is there but
   * cannot be read (EACCES: copied in by another user with mode 0600) is reported with why, not left out silently.
   */
  async #read(file: string): Promise<BundleFile | { error: string } | undefined> {
    let info;
    try {
      info = await stat(file);
    } catch (err) {
      return unreadable(err);
    }
    const cached = this.#cache.get(file);
    if (cached && cached.size === info.size && cached.mtimeMs === info.mtimeMs) return cached.entry;
    let entry: BundleFile | { error: string };
    if (info.size > BUNDLE_DIRECTORY_LIMITS.maxFileBytes) {
      entry = { error: `larger than ${BUNDLE_DIRECTORY_LIMITS.maxFileBytes} bytes; not served` };
    } else {
      let bytes: Buffer;
      try {
        bytes = await readFile(file);
      } catch (err) {
        // Not cached: once its mode is fixed, the next request reads it (its size and mtime may not change).
        return unreadable(err);
      }
      entry = describe(file, bytes);
    }
    this.#cache.set(file, { size: info.size, mtimeMs: info.mtimeMs, entry });
    return entry;
  }
}

/** A stat or read that failed: undefined when the file was removed after the listing, else why it cannot be read. */
function unreadable(err: unknown): { error: string } | undefined {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR' ? undefined : { error: `cannot read: ${(err as Error).message}` };
}

function describe(file: string, bytes: Buffer): BundleFile | { error: string } {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    return { error: `not a bundle: not valid JSON: ${(err as Error).message}` };
  }
  const template = (doc as { template?: { id?: unknown; version?: unknown } } | null)?.template;
  const id = template?.id;
  const version = template?.version;
  if (typeof id !== 'string' || !AGENT_ID.test(id)) return { error: 'not a bundle: no template id' };
  if (typeof version !== 'string' || !SEMVER.test(version)) return { error: `not a bundle: template "${id}" has no semantic version` };
  return { id, version, file, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.byteLength };
}
