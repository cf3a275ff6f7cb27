/**
 * The README's error table, rendered from the registry (error-registry.ts) so the two cannot drift apart:
 * error-registry.test.ts compares it with the README's "Errors" section; `node --import tsx
 * scripts/error-table.ts` writes it there. Only tests and that script import this module (not the daemon).
 */
import { ERRORS, JsonRpcCode } from './error-registry.ts';
import type { ErrorSpec } from './error-registry.ts';

/** The lines that open and close the generated table in README.md. */
export const TABLE_BEGIN = '<!-- error table: generated from runtime/core/error-registry.ts; do not edit by hand -->';
export const TABLE_END = '<!-- end of error table -->';

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

/** One Markdown row per code, in registry order: code, meaning, HTTP, JSON-RPC, CLI exit, retried. */
export function renderErrorTable(): string {
  const rows = Object.values(ERRORS).map((spec: ErrorSpec) => {
    const cells = [`\`${spec.code}\``, escapeCell(spec.message), String(spec.http), String(spec.rpc ?? JsonRpcCode.APPLICATION_ERROR), String(spec.exit ?? 1), spec.retryable === true ? 'yes' : ''];
    return `| ${cells.join(' | ')} |`;
  });
  return [TABLE_BEGIN, '| code | meaning | HTTP | JSON-RPC | CLI exit | retried |', '| --- | --- | --- | --- | --- | --- |', ...rows, TABLE_END].join('\n');
}

/** `readme` with the text between the table's markers replaced by a fresh rendering; undefined without markers. */
export function withErrorTable(readme: string): string | undefined {
  const begin = readme.indexOf(TABLE_BEGIN);
  const end = readme.indexOf(TABLE_END);
  if (begin < 0 || end < begin) return undefined;
  return `${readme.slice(0, begin)}${renderErrorTable()}${readme.slice(end + TABLE_END.length)}`;
}
