/**
 * Typed errors of the runtime (docs/ARCHITECTURE.md "Error registry"): one registry for the runtime/ folder. Every error that crosses
 * the channel or the control plane travels as `{ code, message }` and comes out as the same typed error.
 *
 * The codes and the wire helpers live in runtime/core/errors.ts because the pure AgentCore must raise
 * them too; this module re-exports them for daemon code so there is one registry, not two.
 */
export { ErrorCode, OpenStarryError, errorFromWire, errorMessage, errorToWire, exitCodeOf, httpStatusOf, isOpenStarryError, isRetryable, jsonRpcCodeOf } from './core/errors.ts';
export type { ErrorCodeName, WireError } from './core/errors.ts';
