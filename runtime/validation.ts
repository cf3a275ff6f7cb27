/**
 * One schema library for every boundary (docs/ARCHITECTURE.md "Validation at the boundary"): zod. This module turns zod issues into problems that
 * name the file and the field path, e.g. `agents/x/agent.json: limits.memoryMb: must be >= 8`.
 */
import type { $ZodError } from 'zod/v4/core';

export interface Problem {
  /** Dotted path inside the file (`plugins.0`, `restart.policy`); empty for the document itself. */
  path: string;
  message: string;
}

export function pathToString(path: readonly PropertyKey[]): string {
  return path.map((p) => String(p)).join('.');
}

export function zodProblems(error: $ZodError): Problem[] {
  return error.issues.flatMap((issue) =>
    // zod reports unknown keys at their parent object; the field path of a typo such as `masterAgnet` is the key.
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ path: pathToString([...issue.path, key]), message: `Unrecognized key: ${JSON.stringify(key)}` }))
      : [{ path: pathToString(issue.path), message: issue.message }],
  );
}

/** `file: path: message` lines, one per problem — what `openstarry validate` and boot errors print. */
export function formatProblems(file: string, problems: readonly Problem[]): string {
  return problems.map((p) => `${file}: ${p.path === '' ? '(document)' : p.path}: ${p.message}`).join('\n');
}

/** A plain JSON object (not null, not an array): the first check on anything parsed from outside. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * True when `value` nests arrays/objects more than `max` levels deep. Iterative on purpose: recursive schemas
 * (zod's z.json(), a manifest's config) overflow the stack on a value nested a few thousand levels deep, and
 * JSON.parse builds such a value from a few kilobytes of `[`; this check refuses it before they see it.
 */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const [v, depth] = next;
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= max) return true;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

/**
 * `HOST:PORT` or `[v6]:PORT` (with `hostOptional`, also `:PORT` and `PORT`): the host without brackets, or
 * undefined when absent; undefined for anything else, so each caller words its own error.
 */
export function splitHostPort(raw: string, options: { hostOptional?: boolean } = {}): { host?: string; port: number } | undefined {
  const m = /^(?:(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]*):)?(\d{1,5})$/.exec(raw);
  const port = Number(m?.[2]);
  if (!m || !Number.isInteger(port) || port > 65_535) return undefined;
  const host = m[1]?.replace(/^\[|\]$/g, '');
  if (!host) return options.hostOptional ? { port } : undefined;
  return { host, port };
}
