/**
 * The registry of installed templates and plugins (the issue's "registry service"): id, version, path and a
 * content hash, so the daemon can tell at boot that a template on disk changed since it was validated and
 * cached. Changes are coalesced into the next flush like every other state change.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Blueprint } from '../design/blueprint.ts';
import { normalise } from '../design/blueprint.ts';
import type { TemplateInfo } from '../design/template-scan.ts';
import { ErrorCode, OpenStarryError } from '../errors.ts';
import { zodProblems } from '../validation.ts';
import type { DocumentHost } from './document-host.ts';
import { registryEntrySchema, registryListSchema } from './state-schema.ts';
import type { RegistryEntry, RegistryKind } from './state-schema.ts';

/** The registry's hash format: `sha256:<hex>` of the bytes (a string is hashed as UTF-8). */
export function contentHash(data: string | Uint8Array): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/**
 * The registry service (spec 000 §1.1) at boot: the templates the design layer validated and the plugin modules
 * they load, each with id, version, path and content hash, so a later run (or a remote operator) can tell exactly
 * what was installed. Throws ERR_STATE_INVALID / ERR_STATE_IO.
 */
export function recordInstalled(registry: StateRegistry, templates: readonly TemplateInfo[], blueprints: readonly Blueprint[]): void {
  registry.replace('templates', templates.map((t) => ({ id: t.id, version: t.version, path: t.path, hash: `sha256:${t.hash}` })));
  registry.replace(
    'plugins',
    blueprints.flatMap((b) =>
      b.manifest.plugins.map((rel) => ({ id: `${b.manifest.id}/${normalise(rel)}`, version: b.manifest.version, path: path.join(b.rootDir, rel), hash: contentHash(b.files[normalise(rel)] ?? '') })),
    ),
  );
}

export class StateRegistry {
  readonly #host: DocumentHost;

  constructor(host: DocumentHost) {
    this.#host = host;
  }

  list(kind: RegistryKind): RegistryEntry[] {
    return this.#host.doc.registry[kind].map((e) => ({ ...e }));
  }

  get(kind: RegistryKind, id: string): RegistryEntry | undefined {
    const found = this.#host.doc.registry[kind].find((e) => e.id === id);
    return found === undefined ? undefined : { ...found };
  }

  /** Replaces the whole list (a rescan of the templates folder). Throws ERR_STATE_INVALID. */
  replace(kind: RegistryKind, entries: readonly RegistryEntry[]): void {
    this.#host.assertOpen();
    const parsed = registryListSchema.safeParse(entries);
    if (!parsed.success) throw invalid(kind, zodProblems(parsed.error));
    this.#commit(kind, parsed.data);
  }

  /** Adds the entry, or replaces the one with the same id. Throws ERR_STATE_INVALID. */
  upsert(kind: RegistryKind, entry: RegistryEntry): void {
    this.#host.assertOpen();
    const parsed = registryEntrySchema.safeParse(entry);
    if (!parsed.success) throw invalid(kind, zodProblems(parsed.error));
    const list = this.#host.doc.registry[kind];
    const at = list.findIndex((e) => e.id === parsed.data.id);
    this.#commit(kind, at === -1 ? [...list, parsed.data] : list.map((e, i) => (i === at ? parsed.data : e)));
  }

  /** True when there was an entry to remove. */
  remove(kind: RegistryKind, id: string): boolean {
    this.#host.assertOpen();
    const list = this.#host.doc.registry[kind];
    if (!list.some((e) => e.id === id)) return false;
    this.#commit(kind, list.filter((e) => e.id !== id));
    return true;
  }

  #commit(kind: RegistryKind, next: RegistryEntry[]): void {
    // A boot re-registers everything it finds; an unchanged registry must not cost a write.
    if (JSON.stringify(next) === JSON.stringify(this.#host.doc.registry[kind])) return;
    this.#host.doc.registry[kind] = next;
    this.#host.changed();
  }
}

function invalid(kind: RegistryKind, problems: { path: string; message: string }[]): OpenStarryError {
  return new OpenStarryError(ErrorCode.STATE_INVALID, `registry ${kind}: ${problems.map((p) => `${p.path || '(entry)'}: ${p.message}`).join('; ')}`, {
    details: { problems },
  });
}
