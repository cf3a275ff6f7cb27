import { ErrorCode } from '../core/errors.ts';
import type { IsolateExit } from './isolation-driver.ts';

/**
 * A worker thread's 'error' event as an isolate's end (worker and wasm drivers both run a thread): V8's heap
 * limit from resourceLimits -> out-of-memory; anything else -> uncaught-error with the error's code.
 */
export function workerErrorExit(err: Error & { code?: string }): Required<Pick<IsolateExit, 'cause' | 'error'>> {
  if (err.code === ErrorCode.WORKER_OUT_OF_MEMORY) return { cause: 'out-of-memory', error: { code: err.code, message: err.message } };
  return { cause: 'uncaught-error', error: { code: typeof err.code === 'string' ? err.code : ErrorCode.UNCAUGHT, message: err.message } };
}
