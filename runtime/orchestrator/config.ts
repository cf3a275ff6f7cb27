/**
 * The daemon config's `orchestration` and `dashboard` sections (README "Configuration"), as zod fragments for
 * runtime/daemon/config-schema.ts. Durations take ms or "30s"-style strings (duration.ts).
 *
 *   orchestration:
 *     rules: /etc/openstarry/orchestration.yaml   # optional; relative paths are resolved against the config file
 *     maxConcurrentSpawns: 2                      # spawn/kill actions running at once
 *     maxPending: 32                              # actions waiting; beyond that events are dropped (counted)
 *     maxEventsPerSecond: 100                     # per source (mqtt, cli, gpio, agent:<id>, ...); 0 = unlimited
 *     burst: 500
 *     projectionInterval: 10s                     # state projection period (or projectionIntervalMs)
 *     snapshotTimeout: 2s                         # per agent snapshot
 *   dashboard:
 *     listen: 127.0.0.1:8080                      # or `dashboard: false` / omitted: no dashboard
 */
import * as z from 'zod';
import { durationSchema } from './duration.ts';
import { parseListen } from './dashboard-server.ts';

export const ORCHESTRATION_DEFAULTS = {
  maxConcurrentSpawns: 2,
  maxPending: 32,
  maxEventsPerSecond: 100,
  burst: 500,
  projectionIntervalMs: 10_000,
  snapshotTimeoutMs: 2000,
} as const;

export const orchestrationConfigSchema = z
  .object({
    rules: z.string().min(1).optional(),
    maxConcurrentSpawns: z.number().int().min(1).max(16).default(ORCHESTRATION_DEFAULTS.maxConcurrentSpawns),
    maxPending: z.number().int().min(0).max(1000).default(ORCHESTRATION_DEFAULTS.maxPending),
    maxEventsPerSecond: z.number().min(0).max(100_000).default(ORCHESTRATION_DEFAULTS.maxEventsPerSecond),
    burst: z.number().int().min(1).max(1_000_000).default(ORCHESTRATION_DEFAULTS.burst),
    projectionInterval: durationSchema(1000, 3_600_000).optional(),
    projectionIntervalMs: durationSchema(1000, 3_600_000).optional(),
    snapshotTimeout: durationSchema(100, 60_000).optional(),
  })
  .strict()
  .refine((o) => o.projectionInterval === undefined || o.projectionIntervalMs === undefined, { message: 'give either projectionInterval or projectionIntervalMs, not both', path: ['projectionIntervalMs'] })
  .transform(({ projectionInterval, projectionIntervalMs, snapshotTimeout, ...rest }) => ({
    ...rest,
    projectionIntervalMs: projectionInterval ?? projectionIntervalMs ?? ORCHESTRATION_DEFAULTS.projectionIntervalMs,
    snapshotTimeoutMs: snapshotTimeout ?? ORCHESTRATION_DEFAULTS.snapshotTimeoutMs,
  }));

export type OrchestrationConfig = z.output<typeof orchestrationConfigSchema>;

const listenAddress = z.string().superRefine((value, ctx) => {
  try {
    parseListen(value);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});

/** `dashboard: { listen }`, or `false` (the same as leaving it out: no dashboard). */
export const dashboardConfigSchema = z.union([z.literal(false), z.object({ listen: listenAddress.default('127.0.0.1:8080'), enabled: z.boolean().default(true) }).strict()]).transform((d) => (d === false || !d.enabled ? { enabled: false as const } : { enabled: true as const, listen: d.listen }));

export type DashboardConfig = z.output<typeof dashboardConfigSchema>;
