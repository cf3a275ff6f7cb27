/**
 * The error class of openstarryd and its wire form (README "Errors"). Pure: the core raises these inside any isolate
 * and the daemon raises them on its side; both cross the channel and the control plane as `{ code, message }`.
 * The codes, their default messages and their HTTP / JSON-RPC / exit-code mappings are in error-registry.ts.
 */
import { ErrorCode, errorMessage, errorSpec } from './error-registry.ts';
import type { ErrorCodeName } from './error-registry.ts';

export { ErrorCode, errorMessage, errorSpec, exitCodeOf, httpStatusOf, isRetryable, jsonRpcCodeOf } from './error-registry.ts';
export type { ErrorCodeName, ErrorName, ErrorSpec } from './error-registry.ts';

/** The shape errors take on the channel and in JSON-RPC `error.data`. */
export interface WireError {
  code: string;
  message: string;
  details?: unknown;
}

/** The one error class: `code` from the registry (or another program's `ERR_…` code passed on), `details`, `cause`. */
export class OpenStarryError extends Error {
  override readonly name: string = 'OpenStarryError';
  readonly code: string;
  readonly details: unknown;

  /** Without a message, the registry's default message for the code. */
  constructor(code: ErrorCodeName | string, message?: string, options?: { cause?: unknown; details?: unknown }) {
    super(message ?? errorMessage(code), options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options?.details;
  }
}

export function isOpenStarryError(value: unknown): value is OpenStarryError {
  return value instanceof OpenStarryError;
}

/** Any thrown value -> `{ code, message }`; unknown errors keep their own `code` if it looks like one. */
export function errorToWire(err: unknown): WireError {
  if (err instanceof OpenStarryError) {
    return err.details === undefined
      ? { code: err.code, message: err.message }
      : { code: err.code, message: err.message, details: err.details };
  }
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { code: typeof code === 'string' && code.startsWith('ERR_') ? code : ErrorCode.INTERNAL, message: err.message };
  }
  return { code: ErrorCode.INTERNAL, message: String(err) };
}

/** `{ code, message }` -> the same typed error on the receiving side. */
export function errorFromWire(wire: WireError): OpenStarryError {
  const code = errorSpec(wire.code) !== undefined || wire.code.startsWith('ERR_') ? wire.code : ErrorCode.INTERNAL;
  return new OpenStarryError(code, wire.message, wire.details === undefined ? undefined : { details: wire.details });
}
