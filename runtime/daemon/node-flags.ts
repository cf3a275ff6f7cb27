/**
 * The Node options the daemon runs with: the board's heap settings (issue 12, README "Performance").
 *
 * `--optimize-for-size` is V8's setting for small devices. It does two things an idle daemon on a board needs:
 *  - it caps the young generation at a 1 MB semi-space (a V8 flag implication). Without a cap V8 lets it grow to
 *    16 MB per semi-space (Node 20; more on 22+) after a burst of allocation survives a scavenge — a boot does —
 *    and an idle daemon keeps those pages: the same idle daemon was measured at 66 to 78 MB RSS depending only on
 *    how busy the machine was while it booted;
 *  - V8's memory reducer (the collection that compacts the heap and returns its free pages once a process has gone
 *    quiet) runs on its first timer, 8 s after the last full collection, instead of waiting until the main thread
 *    looks idle by V8's measure, which a daemon with timers (sensors, the usage tick, MQTT keep-alive) seldom does:
 *    identical daemons were at 64 or 70 MB 20 s after start depending on whether it had run yet, and at 65 MB
 *    every time with the flag (README "Performance").
 * The throughput rows of `npm run bench -- lean` (QoS 1, drain, HAL p99, event -> action) stay within their
 * targets with it. The flag is process-wide: worker agents get it too (their young generation has its own cap,
 * resourceLimits in runtime/isolation/worker/worker-driver.ts).
 *
 * V8 reads this option only at start-up (`v8.setFlagsFromString` after start does not cap the young generation),
 * so it is given where the daemon is started, kept in step by runtime/daemon/node-flags.test.ts: the packaged
 * /usr/bin/openstarryd (scripts/package/debian/openstarryd, which the unit runs), `npm start`, the e2e harness and the
 * benchmarks (scripts/bench/). Not on the bundle's own `#!` line: `env -S` there is an interpreter lintian refuses
 * (unusual-interpreter). Started otherwise — `node dist/openstarryd.js` by hand, or `openstarry start`, which runs
 * the daemon inside the CLI's process — it runs with V8's defaults (README "Performance"). A user's own
 * NODE_OPTIONS still apply on top.
 */
export const DAEMON_NODE_FLAGS = ['--optimize-for-size'] as const;

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
