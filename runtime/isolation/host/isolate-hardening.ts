/**
 * Removes the escape hatches a worker thread leaves on `process` and the globals before agent code runs.
 * A worker shares the daemon's OS process, so `process.kill(process.pid)`, `process.binding('fs')` or
 * `process.dlopen()` would bypass the module policy; they are replaced with functions that throw
 * ERR_ISOLATE_DENIED. `fetch` goes too: network access is a capability (`net:...`), not a default.
 *
 * This is a soft boundary inside one process — the spec's "process driver, for development" level. The process
 * and docker drivers add OS-level isolation.
 */
import { ErrorCode, OpenStarryError } from '../../core/errors.ts';
import { ALLOWED_BUILTINS } from './module-policy.ts';

const REFUSED_PROCESS_MEMBERS = ['binding', '_linkedBinding', 'dlopen', 'kill', '_kill', 'abort', 'chdir', 'setuid', 'setgid', 'seteuid', 'setegid', 'setgroups', 'initgroups', '_debugProcess', 'openStdin'] as const;

export function hardenIsolate(proc: NodeJS.Process = process, global: typeof globalThis = globalThis): void {
  for (const name of REFUSED_PROCESS_MEMBERS) {
    if (!(name in proc)) continue;
    Object.defineProperty(proc, name, {
      configurable: false,
      writable: false,
      value: () => {
        throw new OpenStarryError(ErrorCode.ISOLATE_DENIED, `process.${name}() is refused inside an agent isolate`);
      },
    });
  }
  const getBuiltin = (proc as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  if (typeof getBuiltin === 'function') {
    Object.defineProperty(proc, 'getBuiltinModule', {
      configurable: false,
      writable: false,
      value: (id: string) => {
        const name = id.startsWith('node:') ? id.slice(5) : id;
        if (!ALLOWED_BUILTINS.has(name)) throw new OpenStarryError(ErrorCode.ISOLATE_DENIED, `process.getBuiltinModule("${id}") is refused inside an agent isolate`);
        return getBuiltin.call(proc, id);
      },
    });
  }
  for (const name of ['fetch', 'WebSocket', 'EventSource'] as const) {
    if (name in global) delete (global as Record<string, unknown>)[name];
  }
}
