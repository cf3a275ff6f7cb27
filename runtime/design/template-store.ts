/**
 * The design layer as the daemon sees it (spec 002 phase 2): a validated set of templates queried by id, from two
 * sources —
 *   local   the template directory (`templates.dir`; default the templates shipped in agents/)
 *   remote  a design-layer service (`templates.url`, wire format in template-package.ts), whose last good set is
 *           kept in a cache under OPENSTARRY_HOME (template-cache.ts); remote-templates.ts keeps that set in step
 * A template id the service has wins over a local template with the same id: the service is how a fleet is
 * managed, and the local directory is the fallback for what the service does not serve (the shipped master).
 * A version deployed on the board (runtime/deploy/, README "Deploying updates") wins over both: setDeployed().
 *
 * Spec 002 rules, and how they hold here:
 * - "every template validated": both sources go through the same blueprint validation; an invalid one is
 *   reported with its file (or URL) and field and excluded — from the service, the cached good version is kept.
 * - "if the design layer is down, boot from the locally cached templates": at boot and at every spawn, an
 *   unreachable service means the cached version is used and `remoteState()` says `unreachable` (status: degraded).
 * - "a running agent's blueprint is immutable": fresh(id) fetches what a spawn runs *now*; an agent already
 *   running keeps the frozen blueprint it was spawned with.
 * - a reload (SIGHUP, `openstarry reload`) scans the local directory again (reloadLocal): new templates appear,
 *   removed ones go, and a template that stopped validating keeps its last good version, reported — the same rule
 *   as a template the service sends invalid. A spawn of it (fresh) uses that good version, with a warning.
 */
import path from 'node:path';
import { ErrorCode, OpenStarryError } from '../errors.ts';
import type { Blueprint } from './blueprint.ts';
import { loadBlueprint } from './blueprint.ts';
import type { Remote, RemoteDesignState, RemoteStoreOptions } from './remote-templates.ts';
import { createRemote, freshRemote, openRemote, syncListing } from './remote-templates.ts';
import type { InvalidTemplate, TemplateInfo, TemplateScan, TemplateSource } from './template-scan.ts';
import { scanTemplateDir, templateInfo } from './template-scan.ts';
import { byCodeUnits } from './code-unit-order.ts';

export type { InvalidTemplate, TemplateInfo, TemplateScan, TemplateSource } from './template-scan.ts';
export { scanTemplateDir, templateInfo } from './template-scan.ts';
export type { RemoteDesignState, RemoteStoreOptions } from './remote-templates.ts';

/** How often the daemon asks the service for its listing again (resync()). */
export const DESIGN_RESYNC_MS = 5 * 60_000;

/** What a reload of the local directory changed (template ids). */
export interface LocalReload {
  added: string[];
  changed: string[];
  removed: string[];
  /** Invalid on disk now; their last good version stays in use (the error is in `invalid`). */
  kept: string[];
  /** Every template the scan excluded or kept, with file and field. */
  invalid: readonly InvalidTemplate[];
}

export interface TemplateStoreOptions {
  remote?: RemoteStoreOptions;
  /** Warnings about the remote source (unreachable, rejected templates); the daemon logs them. */
  warn?: (message: string) => void;
}

export class TemplateStore {
  #local: TemplateScan;
  readonly #remote: Remote | undefined;
  readonly #warn: (message: string) => void;
  /** Committed deployments (runtime/deploy/): they win over the service and the local directory. */
  readonly #deployed = new Map<string, Blueprint>();

  constructor(local: TemplateScan, options: TemplateStoreOptions = {}) {
    this.#local = local;
    this.#warn = options.warn ?? (() => undefined);
    if (options.remote) this.#remote = createRemote(options.remote, this.#warn, (id) => this.#local.templates.has(id));
  }

  /**
   * Scans the local directory again (a reload). All or nothing: a directory that cannot be read throws
   * (ERR_TEMPLATE_NOT_FOUND) and the current set stays; a template that became invalid keeps its last good version.
   */
  async reloadLocal(): Promise<LocalReload> {
    const scan = await scanTemplateDir(this.#local.dir);
    const before = this.#local.templates;
    const kept: string[] = [];
    for (const bad of scan.invalid) {
      const good = [...before.values()].find((b) => b.manifestPath === bad.file);
      if (!good || scan.templates.has(good.manifest.id)) continue;
      scan.templates.set(good.manifest.id, good);
      const text = this.#local.manifestTexts.get(good.manifest.id);
      if (text !== undefined) scan.manifestTexts.set(good.manifest.id, text);
      kept.push(good.manifest.id);
    }
    const ids = (m: Map<string, Blueprint>) => [...m.keys()].sort();
    const changes: LocalReload = {
      added: ids(scan.templates).filter((id) => !before.has(id)),
      changed: ids(scan.templates).filter((id) => before.has(id) && before.get(id)?.hash !== scan.templates.get(id)?.hash),
      removed: ids(before).filter((id) => !scan.templates.has(id)),
      kept,
      invalid: scan.invalid,
    };
    this.#local = scan;
    return changes;
  }

  /** Scans the local directory and, with a remote source, syncs it (or falls back to its cache). */
  static async open(dir: string, options: TemplateStoreOptions = {}): Promise<TemplateStore> {
    const store = new TemplateStore(await scanTemplateDir(dir), options);
    if (store.#remote) await openRemote(store.#remote);
    return store;
  }

  get dir(): string {
    return this.#local.dir;
  }

  get invalid(): readonly InvalidTemplate[] {
    return [...this.#local.invalid, ...(this.#remote?.invalid.values() ?? [])];
  }

  /** The remote source's state, or undefined when no `templates.url` is configured. */
  remoteState(): RemoteDesignState | undefined {
    if (!this.#remote) return undefined;
    return { ...this.#remote.state, templates: this.#remote.set.size };
  }

  /** Every valid template's blueprint: the remote set, then local templates the service does not shadow. */
  blueprints(): Blueprint[] {
    return this.#entries().map((e) => e.blueprint);
  }

  list(): TemplateInfo[] {
    return this.#entries().map((e) => templateInfo(e.blueprint, e.source));
  }

  /** Makes a deployed version what spawns of `id` run (undefined: back to the service's or the local one). */
  setDeployed(id: string, blueprint: Blueprint | undefined): void {
    if (blueprint) this.#deployed.set(id, blueprint);
    else this.#deployed.delete(id);
  }

  /** The version of `id` the service or the local directory has, deployments aside; undefined when neither has it. */
  baseline(id: string): string | undefined {
    return (this.#remote?.set.get(id)?.blueprint ?? this.#local.templates.get(id))?.manifest.version;
  }

  /** The blueprint get() would give, or undefined instead of an error. */
  peek(id: string): Blueprint | undefined {
    try {
      return this.get(id);
    } catch {
      return undefined;
    }
  }

  /** Spec 002 phase 3 step 1 "fetch the blueprint", from what the boot validated. */
  get(id: string): Blueprint {
    const deployed = this.#deployed.get(id);
    if (deployed) return deployed;
    const remote = this.#remote?.set.get(id);
    if (remote) return remote.blueprint;
    const b = this.#local.templates.get(id);
    if (b) return b;
    const bad = this.#remote?.invalid.get(id) ?? this.#local.invalid.find((t) => path.basename(path.dirname(t.file)) === id);
    if (bad) throw new OpenStarryError(ErrorCode.TEMPLATE_INVALID, `template "${id}" is invalid and was excluded:\n${bad.error}`, { details: { problems: bad.problems } });
    throw new OpenStarryError(ErrorCode.TEMPLATE_NOT_FOUND, `no template "${id}" in ${this.#local.dir}${this.#remote ? ` or at ${this.#remote.source.url}` : ''}`);
  }

  /**
   * What a spawn runs now, validated again (spec 002 phase 4 "the daemon fetches the worker template"): from the
   * service when it has the id (a template changed there applies to agents spawned from now on), its cached good
   * version when the service is unreachable or sends an invalid one, else the local directory as it is on disk (its
   * last good version, with a warning, when the copy on disk no longer validates).
   * @throws ERR_TEMPLATE_INVALID, ERR_TEMPLATE_NOT_FOUND, ERR_DESIGN_LAYER_UNREACHABLE (no cached or local copy)
   */
  async fresh(id: string): Promise<Blueprint> {
    // A deployed version was validated when it was staged and is never edited in place (runtime/deploy/version-store.ts).
    const deployed = this.#deployed.get(id);
    if (deployed) return deployed;
    if (this.#remote && (this.#remote.set.has(id) || !this.#local.templates.has(id))) {
      const remote = await freshRemote(this.#remote, id);
      if (remote) return remote;
    }
    const known = this.get(id);
    let blueprint: Blueprint;
    try {
      blueprint = await loadBlueprint(known.manifestPath);
    } catch (err) {
      // Its last good version (from the boot or the last reload), as for a template the service sends invalid.
      this.#warn(`template "${id}" no longer validates, spawning its last good version ${known.manifest.version}: ${(err as Error).message}`);
      return known;
    }
    if (blueprint.manifest.id !== id) {
      throw new OpenStarryError(ErrorCode.TEMPLATE_INVALID, `template "${id}" at ${known.manifestPath} now says id "${blueprint.manifest.id}"; reload the daemon (systemctl reload openstarryd) to rescan templates`);
    }
    return blueprint;
  }

  #entries(): { blueprint: Blueprint; source: TemplateSource }[] {
    const deployed = [...this.#deployed.values()].map((blueprint) => ({ blueprint, source: 'deployed' as const }));
    const remote = [...(this.#remote?.set.values() ?? [])].filter((e) => !this.#deployed.has(e.blueprint.manifest.id));
    const local = [...this.#local.templates.values()].filter((b) => !this.#remote?.set.has(b.manifest.id) && !this.#deployed.has(b.manifest.id)).map((blueprint) => ({ blueprint, source: 'local' as const }));
    return [...deployed, ...remote, ...local].sort((a, b) => byCodeUnits(a.blueprint.manifest.id, b.blueprint.manifest.id));
  }

  /**
   * Asks the service for its listing again (the daemon does this every few minutes): templates added or changed on
   * the service are fetched, removed ones dropped, and `remoteState()` follows the service coming and going even
   * when nothing is spawned. Never throws; a no-op without `templates.url`.
   */
  async resync(): Promise<void> {
    if (this.#remote) await syncListing(this.#remote).catch((err: Error) => this.#warn(`design layer resync failed: ${err.message}`));
  }
}
