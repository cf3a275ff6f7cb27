/**
 * The daemon config's text -> typed config (config-loader.ts loads this module only for a file with settings in it).
 */
import { LineCounter, parseDocument } from 'yaml';
import type { Problem } from '../validation.ts';
import { formatProblems, zodProblems } from '../validation.ts';
import { ErrorCode, OpenStarryError } from '../errors.ts';
import { MAX_YAML_DEPTH, yamlTooDeepAt } from '../yaml-nesting.ts';
import type { DaemonConfig } from './config-schema.ts';
import { configSchema } from './config-schema.ts';

export function parseConfigText(text: string, file: string): DaemonConfig {
  // Without prettyErrors, yaml leaves linePos unset; the LineCounter turns the error offset into a line.
  // Before the recursive YAML parser sees it (yaml-nesting.ts: a deep enough text aborts the process).
  const deepAt = yamlTooDeepAt(text);
  if (deepAt !== undefined) throw invalid(file, [{ path: '', message: `YAML nested deeper than ${MAX_YAML_DEPTH} levels at line ${deepAt}` }]);
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter });
  if (doc.errors.length > 0) {
    const problems: Problem[] = doc.errors.map((e) => ({ path: '', message: `YAML ${e.code} at line ${e.linePos?.[0]?.line ?? lineCounter.linePos(e.pos[0]).line}: ${e.message.split('\n')[0]}` }));
    throw invalid(file, problems);
  }
  let raw: unknown;
  try {
    raw = doc.toJS() ?? {};
  } catch (err) {
    // toJS resolves aliases: `*nope` with no anchor, or an alias bomb, throws a ReferenceError of its own.
    throw invalid(file, [{ path: '', message: `YAML: ${(err as Error).message}` }]);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid(file, [{ path: '', message: 'the config must be a YAML mapping' }]);
  const result = configSchema().safeParse(raw);
  if (!result.success) throw invalid(file, zodProblems(result.error));
  return result.data;
}

function invalid(file: string, problems: Problem[]): OpenStarryError {
  return new OpenStarryError(ErrorCode.CONFIG_INVALID, formatProblems(file, problems), { details: { file, problems } });
}
