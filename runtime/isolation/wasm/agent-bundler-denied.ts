/**
 * The module that stands in for a refused dynamic import: evaluating it throws ERR_ISOLATE_DENIED, so
 * `await import('node:fs')` rejects with an error agent code can catch and inspect (`e.code`), as in every other
 * isolate. Static imports and require() of the same are refused when the agent is bundled, before it runs.
 */
import { ErrorCode } from '../../core/errors.ts';

export function deniedModuleSource(message: string): string {
  return `const e = new Error(${JSON.stringify(message)}); e.code = ${JSON.stringify(ErrorCode.ISOLATE_DENIED)}; throw e;\nexport {};\n`;
}
