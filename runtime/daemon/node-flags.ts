/**
 * The Node options the daemon runs with: the board's heap settings (issue 12, README "Performance").
 *
 * V8 lets the main thread's young generation grow to 16 MB per semi-space (Node 20; more on 22+) after a burst of
 * allocation survives a scavenge — a boot does, more so on a busy machine — and an idle daemon keeps those pages:
 * the same idle daemon was measured at 66 to 78 MB RSS depending only on how busy the machine was while it booted.
 * Capped at 2 MB the young generation stays ~4 MB, and each scavenge is short. Worker-thread agents have their own
 * cap already (resourceLimits.maxYoungGenerationSizeMb, runtime/isolation/worker/worker-driver.ts).
 *
 * V8 reads this option only at start-up (`v8.setFlagsFromString` after start does not change the cap), so it is
 * given on every way the daemon is started, kept in step by runtime/daemon/node-flags.test.ts:
 * the packaged /usr/bin/openstarryd (scripts/package/debian/openstarryd), `npm start`, the bundle's own `#!` line
 * (runtime/daemon/main.ts) and the benchmarks (scripts/bench/). A user's own NODE_OPTIONS still apply on top.
 */
export const DAEMON_NODE_FLAGS = ['--max-semi-space-size=2'] as const;
