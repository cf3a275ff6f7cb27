/**
 * Loads the daemon config: YAML -> schema -> typed config with defaults. Every error names the file and the
 * field path (and the line for YAML syntax errors). No file at all is valid: every key has a default.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { ErrorCode, OpenStarryError } from '../errors.ts';
import type { Problem } from '../validation.ts';
import { formatProblems, zodProblems } from '../validation.ts';
import type { DaemonConfig } from './config-schema.ts';
import { configSchema } from './config-schema.ts';

export interface LoadedConfig {
  config: DaemonConfig;
  /** Absolute path of the file, absent when running on defaults. */
  file?: string;
  /** Folder relative paths in the config resolve against (the file's folder, or cwd). */
  baseDir: string;
}

export function parseConfigText(text: string, file: string): DaemonConfig {
  // Without prettyErrors, yaml leaves linePos unset; the LineCounter turns the error offset into a line.
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter });
  if (doc.errors.length > 0) {
    const problems: Problem[] = doc.errors.map((e) => ({ path: '', message: `YAML ${e.code} at line ${e.linePos?.[0]?.line ?? lineCounter.linePos(e.pos[0]).line}: ${e.message.split('\n')[0]}` }));
    throw invalid(file, problems);
  }
  const raw: unknown = doc.toJS() ?? {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid(file, [{ path: '', message: 'the config must be a YAML mapping' }]);
  const result = configSchema.safeParse(raw);
  if (!result.success) throw invalid(file, zodProblems(result.error));
  return result.data;
}

/** For `openstarry validate`: reads and validates one config file. */
export async function loadConfigFile(file: string): Promise<DaemonConfig> {
  const absolute = path.resolve(file);
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (err) {
    throw new OpenStarryError(ErrorCode.CONFIG_INVALID, `${absolute}: cannot read config: ${(err as Error).message}`, { cause: err });
  }
  return parseConfigText(text, absolute);
}

/** `--config` wins over OPENSTARRY_CONFIG; neither -> defaults. */
export async function loadConfig(explicit: string | undefined, env: Readonly<Record<string, string | undefined>> = process.env): Promise<LoadedConfig> {
  const file = explicit ?? (env.OPENSTARRY_CONFIG === '' ? undefined : env.OPENSTARRY_CONFIG);
  if (file === undefined) return { config: configSchema.parse({}), baseDir: process.cwd() };
  const absolute = path.resolve(file);
  return { config: await loadConfigFile(absolute), file: absolute, baseDir: path.dirname(absolute) };
}

function invalid(file: string, problems: Problem[]): OpenStarryError {
  return new OpenStarryError(ErrorCode.CONFIG_INVALID, formatProblems(file, problems), { details: { file, problems } });
}
