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
 * given where the daemon is started, kept in step by runtime/daemon/node-flags.test.ts: the packaged
 * /usr/bin/openstarryd (scripts/package/debian/openstarryd, which the unit runs), `npm start`, the e2e harness and the
 * benchmarks (scripts/bench/). Not on the bundle's own `#!` line: `env -S` there is an interpreter lintian refuses
 * (unusual-interpreter). Started otherwise — `node dist/openstarryd.js` by hand, or `openstarry start`, which runs
 * the daemon inside the CLI's process — it runs with V8's defaults (README "Performance"). A user's own
 * NODE_OPTIONS still apply on top.
 */
export const DAEMON_NODE_FLAGS = ['--max-semi-space-size=2'] as const;
