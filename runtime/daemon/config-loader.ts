/**
 * Loads the daemon config: YAML -> schema -> typed config with defaults (config-text.ts). Every error names the file
 * and the field path (and the line for YAML syntax errors). No file at all is valid: every key has a default, and so
 * is a file of nothing but comments — the packaged /etc/openstarry/openstarry.yaml as shipped — which is read
 * without loading the YAML parser at all (issue 12: what a board does not use is not loaded).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, OpenStarryError } from '../errors.ts';
import type { DaemonConfig } from './config-schema.ts';
import { configSchema } from './config-schema.ts';

/** Blank lines and `#` comments only: YAML's empty document, i.e. every default. */
export function onlyComments(text: string): boolean {
  return text.split('\n').every((line) => /^\s*(#.*)?$/.test(line));
}

export interface LoadedConfig {
  config: DaemonConfig;
  /** Absolute path of the file, absent when running on defaults. */
  file?: string;
  /** Folder relative paths in the config resolve against (the file's folder, or cwd). */
  baseDir: string;
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
  if (onlyComments(text)) return configSchema().parse({});
  const { parseConfigText } = await import('./config-text.ts');
  return parseConfigText(text, absolute);
}

/** `--config` wins over OPENSTARRY_CONFIG; neither -> defaults. */
export async function loadConfig(explicit: string | undefined, env: Readonly<Record<string, string | undefined>> = process.env): Promise<LoadedConfig> {
  const file = explicit ?? (env.OPENSTARRY_CONFIG === '' ? undefined : env.OPENSTARRY_CONFIG);
  if (file === undefined) return { config: configSchema().parse({}), baseDir: process.cwd() };
  const absolute = path.resolve(file);
  return { config: await loadConfigFile(absolute), file: absolute, baseDir: path.dirname(absolute) };
}
