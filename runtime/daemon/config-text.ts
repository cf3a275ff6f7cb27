/**
 * The daemon config's text -> typed config (config-loader.ts loads this module only for a file with settings in it).
 */
import { LineCounter, parseDocument } from 'yaml';
import type { Problem } from '../validation.ts';
import { formatProblems, zodProblems } from '../validation.ts';
import { ErrorCode, OpenStarryError } from '../errors.ts';
import type { DaemonConfig } from './config-schema.ts';
import { configSchema } from './config-schema.ts';

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

function invalid(file: string, problems: Problem[]): OpenStarryError {
  return new OpenStarryError(ErrorCode.CONFIG_INVALID, formatProblems(file, problems), { details: { file, problems } });
}
