/**
 * The design layer's template store (spec 002 phase 2): scans the local template directory — one folder per
 * template holding `agent.json` and its plugin modules — and validates every template. An invalid template is
 * reported (with file and field) and excluded; the valid ones are served by id. The remote design-layer source
 * and its cache arrive with the state issue; this store is the local source they fall back to.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, OpenStarryError, errorToWire } from '../errors.ts';
import type { Problem } from '../validation.ts';
import type { Blueprint } from './blueprint.ts';
import { loadBlueprint } from './blueprint.ts';

export interface TemplateInfo {
  id: string;
  version: string;
  description?: string;
  path: string;
  hash: string;
  isolation: string;
  capabilities: readonly string[];
}

export interface InvalidTemplate {
  /** The manifest file that failed. */
  file: string;
  /** The message as the validator wrote it (file: field: reason lines). */
  error: string;
  problems: Problem[];
}

export interface TemplateScan {
  dir: string;
  templates: Map<string, Blueprint>;
  invalid: InvalidTemplate[];
}

/** Scans `dir/<name>/agent.json`. A missing directory is an error; a bad template is only excluded. */
export async function scanTemplateDir(dir: string): Promise<TemplateScan> {
  const absolute = path.resolve(dir);
  let entries;
  try {
    entries = await readdir(absolute, { withFileTypes: true });
  } catch (err) {
    throw new OpenStarryError(ErrorCode.TEMPLATE_NOT_FOUND, `template directory ${absolute} cannot be read: ${(err as Error).message}`, { cause: err });
  }
  const templates = new Map<string, Blueprint>();
  const invalid: InvalidTemplate[] = [];
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const file = path.join(absolute, entry.name, 'agent.json');
    try {
      const blueprint = await loadBlueprint(file);
      const id = blueprint.manifest.id;
      const clash = templates.get(id);
      if (clash) {
        invalid.push({ file, error: `${file}: id: template id "${id}" is already used by ${clash.manifestPath}`, problems: [{ path: 'id', message: `duplicate template id "${id}"` }] });
        continue;
      }
      templates.set(id, blueprint);
    } catch (err) {
      const wire = errorToWire(err);
      const details = (err as OpenStarryError).details as { problems?: Problem[] } | undefined;
      // A folder without agent.json is not a template at all (e.g. a shared helpers folder): skip quietly.
      if (wire.message.includes('cannot read manifest') && (err as { cause?: { code?: string } }).cause?.code === 'ENOENT') continue;
      invalid.push({ file, error: wire.message, problems: details?.problems ?? [{ path: '', message: wire.message }] });
    }
  }
  return { dir: absolute, templates, invalid };
}

export function templateInfo(b: Blueprint): TemplateInfo {
  const info: TemplateInfo = {
    id: b.manifest.id,
    version: b.manifest.version,
    path: b.manifestPath,
    hash: b.hash,
    isolation: b.manifest.isolation,
    capabilities: b.manifest.capabilities,
  };
  if (b.manifest.description !== undefined) info.description = b.manifest.description;
  return info;
}

/** The design layer as the daemon sees it: a validated set of templates, queried by id. */
export class TemplateStore {
  #scan: TemplateScan;

  constructor(scan: TemplateScan) {
    this.#scan = scan;
  }

  static async open(dir: string): Promise<TemplateStore> {
    return new TemplateStore(await scanTemplateDir(dir));
  }

  get dir(): string {
    return this.#scan.dir;
  }

  get invalid(): readonly InvalidTemplate[] {
    return this.#scan.invalid;
  }

  /** Every valid template's blueprint (as scanned at boot). */
  blueprints(): Blueprint[] {
    return [...this.#scan.templates.values()];
  }

  list(): TemplateInfo[] {
    return [...this.#scan.templates.values()].map(templateInfo);
  }

  /**
   * The template as it is on disk now, validated again: what a spawn runs. The boot scan decides which ids exist;
   * an edit since then applies to the next spawn (a running agent keeps its frozen blueprint, spec 002).
   * @throws ERR_TEMPLATE_INVALID when the edited template no longer validates, ERR_TEMPLATE_NOT_FOUND
   */
  async fresh(id: string): Promise<Blueprint> {
    const known = this.get(id);
    let blueprint: Blueprint;
    try {
      blueprint = await loadBlueprint(known.manifestPath);
    } catch (err) {
      throw new OpenStarryError(ErrorCode.TEMPLATE_INVALID, `template "${id}" no longer validates: ${(err as Error).message}`, { cause: err, details: (err as OpenStarryError).details });
    }
    if (blueprint.manifest.id !== id) {
      throw new OpenStarryError(ErrorCode.TEMPLATE_INVALID, `template "${id}" at ${known.manifestPath} now says id "${blueprint.manifest.id}"; restart the daemon to rescan templates`);
    }
    return blueprint;
  }

  /** Spec 002 phase 3 step 1 "fetch the blueprint" (`GET /templates/<id>` on the local source). */
  get(id: string): Blueprint {
    const b = this.#scan.templates.get(id);
    if (b) return b;
    const bad = this.#scan.invalid.find((t) => path.basename(path.dirname(t.file)) === id);
    if (bad) throw new OpenStarryError(ErrorCode.TEMPLATE_INVALID, `template "${id}" is invalid and was excluded:\n${bad.error}`, { details: { problems: bad.problems } });
    throw new OpenStarryError(ErrorCode.TEMPLATE_NOT_FOUND, `no template "${id}" in ${this.#scan.dir}`);
  }
}
