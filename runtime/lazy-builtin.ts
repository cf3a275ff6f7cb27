/**
 * A Node builtin loaded at its first use rather than when the importing file loads (issue 12, README "Performance").
 * Every builtin a process loads stays in its memory for good (its JavaScript, its binding, its code paged in from the
 * node binary; node:child_process is ~0.3-0.8 MB of a bare process's RSS) and is loaded at every boot. Parts that
 * need one only on a path a board may never take (the systemd-notify fallback, a `process` isolate, a camera stream
 * command) load it here. (Node itself loads node:child_process in the daemon, for net.Server.listen through
 * node:cluster, so today that one saves boot work rather than memory: README "Performance".)
 */
import { createRequire } from 'node:module';

// A plain require: a builtin needs no resolution, and it loads synchronously (callers may be synchronous).
const requireBuiltin = createRequire(import.meta.url);

/** A getter for builtin `id` that loads it at its first call. */
export function lazyBuiltin<T>(id: `node:${string}`): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= requireBuiltin(id) as T);
}
