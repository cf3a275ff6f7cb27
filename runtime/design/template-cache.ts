/**
 * The local copy of the last good remote template set (spec 002 rule "if the design layer is down, boot from the
 * locally cached templates"). It lives in `$OPENSTARRY_HOME/design-cache/`: `index.json` beside `templates/`, which
 * holds one ordinary template folder per id (`templates/<id>/agent.json` + modules; a subfolder, so no template id
 * can ever name the index), so booting from the cache is the same scan and validation as a local directory,
 * and the docker driver can mount a cached template like any other.
 *
 * A package from the service is installed only after it validated as a whole:
 *   1. written into `.staging-<id>-<n>/`, every file fsynced      (nothing under `<id>/` changes yet)
 *   2. validated there exactly like a local template, and its hash recomputed and compared with the service's
 *   3. `<id>/` renamed to `.old-<id>-<n>/`, the staging folder renamed to `<id>/`, the folder fsynced, old removed
 * So an invalid template from the service never replaces the cached good one, and a power cut leaves either the
 * old or the new folder: open() renames a lone `.old-` folder back and removes staging leftovers.
 *
 * `index.json` records each cached template's hash: a cached folder whose content no longer matches (a card that
 * lost blocks) is reported invalid instead of being run. The cache is written only when a hash changed, so a
 * daemon that reboots every day does not rewrite its SD card every day.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, OpenStarryError } from '../errors.ts';
import { DurableTextFile, syncDir, writeFileSynced } from '../durable-file.ts';
import type { Blueprint } from './blueprint.ts';
import { deepFreeze, loadTemplateFolder } from './blueprint.ts';
import type { TemplatePackage } from './template-package.ts';
import type { InvalidTemplate, TemplateScan } from './template-scan.ts';
import { scanTemplateDir } from './template-scan.ts';

export interface CacheIndex {
  /** The service the set came from. */
  url: string;
  /** When the service last answered a full listing (ISO time). */
  syncedAt?: string;
  /** id -> hash of what is cached. */
  hashes: Record<string, string>;
}

export class TemplateCache {
  readonly dir: string;
  /** Where the template folders are. */
  readonly templatesDir: string;
  readonly #index: DurableTextFile;
  #hashes: Record<string, string> = {};
  #syncedAt: string | undefined;

  constructor(dir: string) {
    this.dir = path.resolve(dir);
    this.templatesDir = path.join(this.dir, 'templates');
    this.#index = new DurableTextFile(path.join(this.dir, 'index.json'));
  }

  get syncedAt(): string | undefined {
    return this.#syncedAt;
  }

  /** Repairs an interrupted install, then scans the cached templates (validated, hashes checked against the index). */
  async open(): Promise<TemplateScan> {
    await mkdir(this.templatesDir, { recursive: true });
    await this.#repair();
    const index = await this.#readIndex();
    this.#hashes = index?.hashes ?? {};
    this.#syncedAt = index?.syncedAt;
    const scan = await scanTemplateDir(this.templatesDir);
    const invalid: InvalidTemplate[] = [...scan.invalid];
    for (const [id, b] of scan.templates) {
      const expected = this.#hashes[id];
      if (expected === b.hash) continue;
      scan.templates.delete(id);
      const why = expected === undefined ? 'is not in the cache index' : `content hash ${b.hash.slice(0, 12)} does not match the cached ${expected.slice(0, 12)}`;
      invalid.push({ file: b.manifestPath, error: `${b.manifestPath}: (document): cached template "${id}" ${why}; it is not run`, problems: [{ path: '', message: `cache entry ${why}` }] });
    }
    return { ...scan, dir: this.templatesDir, invalid };
  }

  /** The cached hash of `id`, if it is cached. */
  hashOf(id: string): string | undefined {
    return this.#hashes[id];
  }

  /**
   * Validates a package from the service and, only if it is good, makes it the cached version of its id.
   * @param origin where it came from (`<url>/templates/<id>`), used in error messages instead of the staging path
   * @throws ERR_TEMPLATE_INVALID naming the origin and every problem; the cached version is untouched
   */
  async install(pkg: TemplatePackage, origin: string, url: string): Promise<Blueprint> {
    const suffix = randomBytes(4).toString('hex');
    const staging = path.join(this.templatesDir, `.staging-${pkg.id}-${suffix}`);
    const final = path.join(this.templatesDir, pkg.id);
    let validated: Blueprint;
    try {
      await writeSynced(path.join(staging, 'agent.json'), pkg.manifest);
      for (const [rel, source] of Object.entries(pkg.files)) await writeSynced(path.join(staging, ...rel.split('/')), source);
      let loaded;
      try {
        loaded = await loadTemplateFolder(path.join(staging, 'agent.json'));
      } catch (err) {
        const message = (err as Error).message.replaceAll(path.join(staging, 'agent.json'), origin).replaceAll(staging, origin);
        throw new OpenStarryError(ErrorCode.TEMPLATE_INVALID, message, { cause: err, details: (err as OpenStarryError).details });
      }
      const { blueprint } = loaded;
      validated = blueprint;
      if (blueprint.manifest.id !== pkg.id) throw invalid(origin, 'id', `the package is "${pkg.id}" but its agent.json says "${blueprint.manifest.id}"`);
      if (blueprint.hash !== pkg.hash) throw invalid(origin, 'hash', `content hash ${blueprint.hash.slice(0, 12)} does not match the service's ${pkg.hash.slice(0, 12)} (damaged in transfer?)`);
      const old = path.join(this.templatesDir, `.old-${pkg.id}-${suffix}`);
      const hadOld = await rename(final, old).then(() => true, (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return false;
        throw err;
      });
      await rename(staging, final);
      await syncDir(this.templatesDir);
      if (hadOld) await rm(old, { recursive: true, force: true });
      this.#hashes = { ...this.#hashes, [pkg.id]: pkg.hash };
      await this.#writeIndex(url);
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
    // The same bytes, validated and hashed above, now under their final name: no second read of the folder.
    return deepFreeze({ ...validated, manifestPath: path.join(final, 'agent.json'), rootDir: final });
  }

  /** After a full listing: drops cached templates the service no longer has, and records the sync time. */
  async synced(url: string, ids: ReadonlySet<string>, at: Date): Promise<void> {
    const gone = Object.keys(this.#hashes).filter((id) => !ids.has(id));
    for (const id of gone) await rm(path.join(this.templatesDir, id), { recursive: true, force: true });
    const hashes = Object.fromEntries(Object.entries(this.#hashes).filter(([id]) => ids.has(id)));
    this.#hashes = hashes;
    this.#syncedAt = at.toISOString();
    await this.#writeIndex(url);
  }

  async #writeIndex(url: string): Promise<void> {
    const index: CacheIndex = { url, hashes: this.#hashes };
    if (this.#syncedAt !== undefined) index.syncedAt = this.#syncedAt;
    await this.#index.write(`${JSON.stringify(index, null, 2)}\n`);
  }

  async #readIndex(): Promise<CacheIndex | undefined> {
    for (const read of [() => this.#index.read(), () => this.#index.readBackup()]) {
      const text = await read().catch(() => null);
      if (text === null) continue;
      try {
        const parsed = JSON.parse(text) as Partial<CacheIndex>;
        if (typeof parsed.url === 'string' && typeof parsed.hashes === 'object' && parsed.hashes !== null) {
          this.#index.markCurrentValid(true);
          return parsed as CacheIndex;
        }
      } catch {
        // A torn index: try the backup, else treat every cached folder as unverified.
      }
    }
    return undefined;
  }

  /** Undoes what a power cut in install() may have left: a lone `.old-<id>-` folder goes back, staging goes away. */
  async #repair(): Promise<void> {
    const dir = this.templatesDir;
    const names = await readdir(dir);
    for (const name of names) {
      if (name.startsWith('.staging-')) await rm(path.join(dir, name), { recursive: true, force: true });
      const old = /^\.old-(.+)-[0-9a-f]{8}$/.exec(name);
      if (!old?.[1]) continue;
      if (names.includes(old[1])) await rm(path.join(dir, name), { recursive: true, force: true });
      else await rename(path.join(dir, name), path.join(dir, old[1]));
    }
  }
}

function invalid(origin: string, field: string, message: string): OpenStarryError {
  return new OpenStarryError(ErrorCode.TEMPLATE_INVALID, `${origin}: ${field}: ${message}`, { details: { file: origin, problems: [{ path: field, message }] } });
}

async function writeSynced(file: string, text: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFileSynced(file, text);
}
