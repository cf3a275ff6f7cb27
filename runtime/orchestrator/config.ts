/**
 * The daemon config's `orchestration` section (README "Configuration"), as zod fragments for
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
 */
import * as z from 'zod';
import { durationSchema } from './duration.ts';

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
