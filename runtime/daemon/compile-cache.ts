/**
 * V8's compile cache for the daemon's bundle (issue 12: boot on a board's slow core). Node 22.1+ can keep the code it
 * compiled from the bundle's modules on disk (`module.enableCompileCache`, Node's "Module compile cache") and read it
 * back at the next start instead of parsing and compiling ~1 MB of JavaScript again: under qemu-aarch64 that
 * compile was ~0.45 s of a ~4.4 s boot (a CPU profile of the packaged arm64 daemon, README "Performance").
 *
 * The cache lives in the daemon's home (`<OPENSTARRY_HOME>/cache/v8`, /var/lib/openstarry/cache/v8 on a board), which
 * the service may write; Node checks each entry against the source's hash, so a package upgrade simply recompiles.
 * NODE_COMPILE_CACHE, when set, is Node's own switch and wins. Node 20 has no such API for ES modules (its
 * vm.Script cached data serves CommonJS scripts only): there the daemon compiles at every boot, as before.
 */
import path from 'node:path';

export interface CompileCacheHost {
  enable?: (dir: string) => { status: number; message?: string; directory?: string };
  env: Readonly<Record<string, string | undefined>>;
}

/** Enables the cache under `home`; returns the directory, or undefined when this Node cannot (or the user chose). */
export function enableCompileCache(home: string, host: CompileCacheHost): string | undefined {
  if (host.enable === undefined || host.env.NODE_COMPILE_CACHE !== undefined) return undefined;
  const dir = path.join(home, 'cache', 'v8');
  try {
    const result = host.enable(dir);
    return result.directory ?? dir;
  } catch {
    return undefined; // an unwritable home costs the cache, never the boot
  }
}
