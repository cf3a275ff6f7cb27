/**
 * What `openstarry validate <file>` runs (README "A short tour"): local, no daemon. Finds out what kind of file it is and
 * runs the same validation the daemon would, printing every problem as `file: field.path: message`. Loaded by
 * validate.ts only when that command runs: the schemas (zod, yaml) are most of the CLI's code otherwise.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { loadBlueprint } from '../../design/blueprint.ts';
import { loadProfileFile } from '../../../board-profiles/detect.ts';
import { OpenStarryError } from '../../errors.ts';
import type { Problem } from '../../validation.ts';
import { formatProblems, isRecord } from '../../validation.ts';
import type { CliIo } from '../args.ts';
import { ExitCode } from '../args.ts';

export type FileKind = 'agent manifest' | 'daemon config' | 'orchestration rules' | 'board profile';

type Detected = { kind: FileKind } | { problem: Problem } | { unknown: true };

/** By extension first, then by the keys only that kind of file has. */
export function detectKind(file: string, text: string): Detected {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.yaml' || ext === '.yml') {
    let doc: unknown;
    try {
      doc = parseYaml(text);
    } catch {
      return { kind: 'daemon config' }; // The config loader reports the syntax error with its position.
    }
    return isRecord(doc) && Object.hasOwn(doc, 'rules') ? { kind: 'orchestration rules' } : { kind: 'daemon config' };
  }
  if (ext === '.json') {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      return { problem: { path: '', message: `not valid JSON: ${(err as Error).message}` } };
    }
    if (isRecord(doc) && Object.hasOwn(doc, 'plugins')) return { kind: 'agent manifest' };
    if (isRecord(doc) && Object.hasOwn(doc, 'match') && Object.hasOwn(doc, 'gpio')) return { kind: 'board profile' };
  }
  return { unknown: true };
}

function problemsOf(err: unknown): Problem[] | undefined {
  // Manifests, configs and board profiles all raise OpenStarryError with details.problems.
  if (!(err instanceof OpenStarryError)) return undefined;
  const details: unknown = err.details;
  if (!isRecord(details) || !Array.isArray(details.problems)) return undefined;
  const problems = (details.problems as unknown[]).filter((p): p is Problem => isRecord(p) && typeof p.path === 'string' && typeof p.message === 'string');
  return problems.length > 0 ? problems : undefined;
}

async function check(kind: FileKind, absolute: string): Promise<void> {
  switch (kind) {
    case 'agent manifest':
      await loadBlueprint(absolute); // schema + plugin files present, as spawn would check them
      return;
    case 'daemon config': {
      const { loadConfigFile } = await import('../../daemon/config-loader.ts');
      await loadConfigFile(absolute);
      return;
    }
    case 'orchestration rules': {
      const { loadRulesFile } = await import('../../orchestrator/rules-loader.ts');
      await loadRulesFile(absolute); // schema, event patterns, CEL conditions type-checked, action targets
      return;
    }
    case 'board profile':
      await loadProfileFile(absolute);
      return;
  }
}

export async function validateFile(file: string, io: CliIo): Promise<number> {
  const absolute = path.resolve(io.cwd, file);
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (err) {
    io.err(`openstarry: cannot read ${file}: ${(err as Error).message}`);
    return ExitCode.FAILED;
  }
  const detected = detectKind(absolute, text);
  if ('problem' in detected) {
    io.err(formatProblems(file, [detected.problem]));
    return ExitCode.FAILED;
  }
  if ('unknown' in detected) {
    io.err(`openstarry: cannot tell what kind of file ${file} is (expected an agent.json, a config or rules .yaml, or a board profile .json)`);
    return ExitCode.FAILED;
  }
  try {
    await check(detected.kind, absolute);
  } catch (err) {
    const problems = problemsOf(err);
    io.err(problems === undefined ? `openstarry: ${(err as Error).message}` : formatProblems(file, problems));
    return ExitCode.FAILED;
  }
  io.out(`${file}: ok (${detected.kind})`);
  return ExitCode.OK;
}
