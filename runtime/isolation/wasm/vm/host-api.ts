/**
 * The host functions the worker installs in the QuickJS global as `__openstarryHost` (see ../host-bridge.ts), and
 * the one place inside the VM that reads them. This module is the first the VM runtime evaluates: it takes the
 * object and deletes the global, so agent code never sees it (nothing in it is more than the agent may do through
 * ctx anyway: the daemon checks every channel message, because the isolate is untrusted).
 */
import type { VmErrorInfo, VmHostApi } from './host-contract.ts';
import { HOST_GLOBAL } from './host-contract.ts';

export type { VmErrorInfo };

const g = globalThis as Record<string, unknown>;
const found = g[HOST_GLOBAL] as VmHostApi | undefined;
delete g[HOST_GLOBAL];
if (!found) throw new Error('openstarry VM runtime: host functions missing (not running inside the wasm driver)');
export const host: VmHostApi = found;

export function describeError(err: unknown): VmErrorInfo {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const info: VmErrorInfo = { name: err.name, message: err.message };
    if (typeof code === 'string') info.code = code;
    if (typeof err.stack === 'string') info.stack = err.stack;
    return info;
  }
  return { name: 'Error', message: `non-error thrown: ${safeString(err)}` };
}

export function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
