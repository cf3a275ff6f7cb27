/**
 * The Node options the daemon runs with: the board's heap settings (issue 12, README "Performance").
 *
 * `--optimize-for-size` is V8's setting for small devices. What an idle daemon on a board gets from it: V8's memory
 * reducer (the collection that compacts the heap and returns its free pages once a process has gone quiet) runs on
 * its first timer, 8 s after the last full collection, instead of waiting until the main thread looks idle by V8's
 * measure, which a daemon with timers (sensors, the usage tick, MQTT keep-alive) seldom does: identical daemons
 * were at 64 or 70 MB 20 s after start depending on whether it had run yet, and at 65-66 MB every time with the
 * flag (README "Performance").
 *
 * `--max-semi-space-size=2`, after it (the later flag wins over the 1 MB that --optimize-for-size implies): the young
 * generation may grow to 2 MB per semi-space and no further. Uncapped, V8 grows it to 16 MB per semi-space (Node 20;
 * more on 22+) after a burst of allocation survives a scavenge — a boot does — and keeps those pages; at 1 MB the
 * HAL read's p99 doubled (more scavenges on the main thread during a burst of reads; `npm run bench -- lean`).
 *
 * The flags are process-wide: worker agents get them too (their young generation has its own cap, resourceLimits in
 * runtime/isolation/worker/worker-driver.ts).
 *
 * V8 reads these options only at start-up (`v8.setFlagsFromString` after start does not cap the young generation),
 * so they are given where the daemon is started, kept in step by runtime/daemon/node-flags.test.ts: the packaged
 * /usr/bin/openstarryd (scripts/package/debian/openstarryd, which the unit runs), `npm start`, the e2e harness and the
 * benchmarks (scripts/bench/). Not on the bundle's own `#!` line: `env -S` there is an interpreter lintian refuses
 * (unusual-interpreter). Started otherwise — `node dist/openstarryd.js` by hand, or `openstarry start`, which runs
 * the daemon inside the CLI's process — it runs with V8's defaults (README "Performance"). A user's own
 * NODE_OPTIONS still apply on top.
 */
export const DAEMON_NODE_FLAGS = ['--optimize-for-size', '--max-semi-space-size=2'] as const;

/**
 * The environment the daemon runs with, beside DAEMON_NODE_FLAGS and on the same launch paths (kept in step by
 * node-flags.test.ts). A user's own value wins where the launcher can tell (the Debian wrapper sets it only when unset).
 *
 * MALLOC_ARENA_MAX=2 (mallopt(3) M_ARENA_MAX): glibc gives each thread that allocates its own malloc arena, up to
 * 8 per core, and an arena keeps the pages it once used. The daemon has more such threads than a bare Node process:
 * V8's background compiler and GC threads, libuv's pool, one per worker agent. Two arenas returned about 1 MB of an
 * idle daemon's RSS on this machine (README "Performance").
 */
export const DAEMON_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2' };
