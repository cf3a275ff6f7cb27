/**
 * The V8 options the daemon runs with: the board's heap settings (issue 12, README "Performance").
 *
 * `--optimize-for-size` is V8's setting for small devices. What an idle daemon on a board gets from it: V8's memory
 * reducer (the collection that compacts the heap and returns its free pages once a process has gone quiet) runs on
 * its first timer, 8 s after the last full collection, instead of waiting until the main thread looks idle by V8's
 * measure, which a daemon with timers (sensors, the usage tick, MQTT keep-alive) seldom does (it then waits for its
 * 100 s watchdog): identical daemons were at 64 or 70 MB 20 s after start depending on whether it had run yet, and
 * at 63-64 MB every time with the flag (README "Performance"). V8 reads it when it decides, so it works set at run
 * time, for the worker agents' heaps too. (A `--max-semi-space-size` set at run time caps nothing: V8 sizes an
 * isolate's young generation when it creates it; worker agents get theirs from resourceLimits.)
 *
 * When, and why not all the time: any V8 option changed from its default makes Node refuse the code cache built into
 * its binary for every module compiled while it is set (`NODE_DEBUG_NATIVE=CODE_CACHE` prints "rejected";
 * node-flags.test.ts):
 * - not on Node's command line: each of Node's own modules the boot loads (~100 on Node 22: the ES-module loader,
 *   net, http, crypto, streams, worker_threads...) would be compiled from source at every start; the daemon sets the
 *   option itself once it is ready (main.ts, through DaemonOptions.onReady). Measured (README "Performance"): boot
 *   under qemu-aarch64, main-thread CPU to READY 3.63 -> 3.40 s.
 * - and off again while a worker agent's thread boots (DaemonV8Flags.workerBooting, through the worker driver's
 *   bootWindow): a worker compiles Node's bootstrap modules itself, ~100 of them, and with the option set it
 *   compiled them all from source: +0.06x on the spawn row (1.43x against 1.37x without, same hour).
 */
export const DAEMON_V8_FLAGS = ['--optimize-for-size'] as const;

/**
 * Back to V8's defaults. On Node 20 and 22 `--optimize-for-size` implies `--max-semi-space-size=1` (a V8 flag
 * implication), which `--no-optimize-for-size` leaves set: without the second option the options still differ from
 * the defaults and a worker booting then still refuses Node's code cache (node-flags.test.ts). Harmless on Node 24.
 */
export const DAEMON_V8_FLAGS_OFF = ['--no-optimize-for-size', '--max-semi-space-size=0'] as const;

/**
 * DAEMON_V8_FLAGS from the daemon's READY on, except while a worker agent's thread boots: `apply()` once ready,
 * `workerBooting()` as a worker thread is created, its result called once that worker has sent its first message or
 * ended. Workers boot concurrently: the options come back when the last of them has. Changing an option costs ~15 us.
 */
export class DaemonV8Flags {
  readonly #set: (flag: string) => void;
  #applied = false;
  #booting = 0;

  constructor(set: (flag: string) => void) {
    this.#set = set;
  }

  /** Once ready (DaemonOptions.onReady). Idempotent. */
  apply(): void {
    if (this.#applied) return;
    this.#applied = true;
    if (this.#booting === 0) this.#setAll(DAEMON_V8_FLAGS);
  }

  /** A worker thread starts; the options are off until the returned function has been called (idempotent). */
  workerBooting(): () => void {
    if (this.#booting++ === 0 && this.#applied) this.#setAll(DAEMON_V8_FLAGS_OFF);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      if (--this.#booting === 0 && this.#applied) this.#setAll(DAEMON_V8_FLAGS);
    };
  }

  /** Worker threads booting right now. */
  get booting(): number {
    return this.#booting;
  }

  #setAll(flags: readonly string[]): void {
    for (const flag of flags) this.#set(flag);
  }
}

/**
 * What the launchers put on Node's command line before the bundle (the packaged /usr/bin/openstarryd, `npm start`,
 * the e2e harness, the benchmarks): nothing since the daemon sets DAEMON_V8_FLAGS itself; kept as the one place a
 * launch option would go. A user's own NODE_OPTIONS still apply.
 */
export const DAEMON_NODE_FLAGS: readonly string[] = [];

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
