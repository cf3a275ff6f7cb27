/**
 * Scanning a template directory — one folder per template holding `agent.json` and its plugin modules — and
 * validating every template (spec 002 phase 2). An invalid template is reported with file and field and
 * excluded. Used for the local directory, the remote set's cache, and the design-layer service's own folder.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, OpenStarryError, errorToWire } from '../errors.ts';
import type { Problem } from '../validation.ts';
import type { Blueprint } from './blueprint.ts';
import { loadTemplateFolder } from './blueprint.ts';
import { byCodeUnits } from './code-unit-order.ts';

/** Where a template in the store came from: the local directory, the design-layer service, or its cache. */
export type TemplateSource = 'local' | 'remote' | 'cache' | 'deployed';

export interface TemplateInfo {
  id: string;
  version: string;
  description?: string;
  path: string;
  hash: string;
  isolation: string;
  capabilities: readonly string[];
  source: TemplateSource;
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
  /** Each valid template's agent.json exactly as read (what the design-layer service sends beside the modules). */
  manifestTexts: Map<string, string>;
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
  const manifestTexts = new Map<string, string>();
  const invalid: InvalidTemplate[] = [];
  for (const entry of entries.sort((a, b) => byCodeUnits(a.name, b.name))) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const file = path.join(absolute, entry.name, 'agent.json');
    try {
      const { blueprint, manifestText } = await loadTemplateFolder(file);
      const id = blueprint.manifest.id;
      const clash = templates.get(id);
      if (clash) {
        invalid.push({ file, error: `${file}: id: template id "${id}" is already used by ${clash.manifestPath}`, problems: [{ path: 'id', message: `duplicate template id "${id}"` }] });
        continue;
      }
      templates.set(id, blueprint);
      manifestTexts.set(id, manifestText);
    } catch (err) {
      const wire = errorToWire(err);
      const details = (err as OpenStarryError).details as { problems?: Problem[] } | undefined;
      // A folder without agent.json is not a template at all (e.g. a shared helpers folder): skip quietly.
      if (wire.message.includes('cannot read manifest') && (err as { cause?: { code?: string } }).cause?.code === 'ENOENT') continue;
      invalid.push({ file, error: wire.message, problems: details?.problems ?? [{ path: '', message: wire.message }] });
    }
  }
  return { dir: absolute, templates, invalid, manifestTexts };
}

export function templateInfo(b: Blueprint, source: TemplateSource = 'local'): TemplateInfo {
  const info: TemplateInfo = {
    id: b.manifest.id,
    version: b.manifest.version,
    path: b.manifestPath,
    hash: b.hash,
    isolation: b.manifest.isolation,
    capabilities: b.manifest.capabilities,
    source,
  };
  if (b.manifest.description !== undefined) info.description = b.manifest.description;
  return info;
}
