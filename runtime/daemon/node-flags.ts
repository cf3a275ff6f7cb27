/**
 * The V8 options the daemon runs with: the board's heap settings (issue 12, README "Performance").
 *
 * `--optimize-for-size` is V8's setting for small devices. What an idle daemon on a board gets from it: V8's memory
 * reducer (the collection that compacts the heap and returns its free pages once a process has gone quiet) runs on
 * its first timer, 8 s after the last full collection, instead of waiting until the main thread looks idle by V8's
 * measure, which a daemon with timers (sensors, the usage tick, MQTT keep-alive) seldom does: identical daemons
 * were at 64 or 70 MB 20 s after start depending on whether it had run yet, and at 65-66 MB every time with the
 * flag (README "Performance"). V8 reads it when it decides, so it works set at run time.
 *
 * `--max-semi-space-size=2`, after it: a young generation of at most 2 MB per semi-space for every isolate created
 * after it is set (worker agents; their own cap is resourceLimits in runtime/isolation/worker/worker-driver.ts).
 *
 * The daemon sets them itself, once it is ready (main.ts, through DaemonOptions.onReady), not on Node's command line:
 * any V8 option given at start-up makes Node refuse the code cache built into its binary, so each of Node's own
 * modules the boot loads (~100 on Node 22: the ES-module loader, net, http, crypto, streams, worker_threads...) is
 * compiled from source at every start (`NODE_DEBUG_NATIVE=CODE_CACHE` prints "rejected"; node-flags.test.ts). Set at
 * run time they leave it accepted. Measured (README "Performance"): boot under qemu-aarch64, main-thread CPU to READY, medians of
 * interleaved boots 3.63 -> 3.40 s (without any flag 3.18 s); idle RSS at 20 s, Node 20, 4 side-by-side rounds:
 * 65.9-66.6 MB with them on the command line, 64.8-65.4 MB set once ready, 66.9-67.2 MB without them. What is lost
 * against the command line: the main thread's own young generation is not capped (V8 sizes its heap at start-up;
 * node-flags.test.ts), the memory reducer shrinks it again once the daemon is quiet.
 */
export const DAEMON_V8_FLAGS = ['--optimize-for-size', '--max-semi-space-size=2'] as const;

/**
 * What the launchers put on Node's command line before the bundle (the packaged /usr/bin/openstarryd, `npm start`,
 * the e2e harness, the benchmarks): nothing since the daemon sets DAEMON_V8_FLAGS itself; kept as the one place a
 * launch option would go. A user's own NODE_OPTIONS still apply.
 */
export const DAEMON_NODE_FLAGS: readonly string[] = [];

/** Sets DAEMON_V8_FLAGS in this process (v8.setFlagsFromString); the daemon's executable calls it once ready. */
export function applyDaemonV8Flags(set: (flag: string) => void): void {
  for (const flag of DAEMON_V8_FLAGS) set(flag);
}

/**
 * The environment the daemon runs with, given by the same launch paths as DAEMON_NODE_FLAGS (kept in step by
 * node-flags.test.ts). A user's own value wins where the launcher can tell (the Debian wrapper sets it only when unset).
 *
 * MALLOC_ARENA_MAX=2 (mallopt(3) M_ARENA_MAX): glibc gives each thread that allocates its own malloc arena, up to
 * 8 per core, and an arena keeps the pages it once used. The daemon has more such threads than a bare Node process:
 * V8's background compiler and GC threads, libuv's pool, one per worker agent. Two arenas returned about 1 MB of an
 * idle daemon's RSS on this machine (README "Performance").
 */
export const DAEMON_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2' };
