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
import * as z from 'zod/mini';
import '../zod-messages.ts';
import { durationSchema } from './duration.ts';

export const ORCHESTRATION_DEFAULTS = {
  maxConcurrentSpawns: 2,
  maxPending: 32,
  maxEventsPerSecond: 100,
  burst: 500,
  projectionIntervalMs: 10_000,
  snapshotTimeoutMs: 2000,
} as const;

/** A new schema on each call: the config is read once, at boot (runtime/daemon/config-schema.ts says why). */
export const orchestrationConfigSchema = () =>
  z.pipe(
    z
      .strictObject({
        rules: z.optional(z.string().check(z.minLength(1))),
        maxConcurrentSpawns: z._default(z.int().check(z.gte(1), z.lte(16)), ORCHESTRATION_DEFAULTS.maxConcurrentSpawns),
        maxPending: z._default(z.int().check(z.gte(0), z.lte(1000)), ORCHESTRATION_DEFAULTS.maxPending),
        maxEventsPerSecond: z._default(z.number().check(z.gte(0), z.lte(100_000)), ORCHESTRATION_DEFAULTS.maxEventsPerSecond),
        burst: z._default(z.int().check(z.gte(1), z.lte(1_000_000)), ORCHESTRATION_DEFAULTS.burst),
        projectionInterval: z.optional(durationSchema(1000, 3_600_000)),
        projectionIntervalMs: z.optional(durationSchema(1000, 3_600_000)),
        snapshotTimeout: z.optional(durationSchema(100, 60_000)),
      })
      .check(z.refine((o) => o.projectionInterval === undefined || o.projectionIntervalMs === undefined, { message: 'give either projectionInterval or projectionIntervalMs, not both', path: ['projectionIntervalMs'] })),
    z.transform(({ projectionInterval, projectionIntervalMs, snapshotTimeout, ...rest }) => ({
      ...rest,
      projectionIntervalMs: projectionInterval ?? projectionIntervalMs ?? ORCHESTRATION_DEFAULTS.projectionIntervalMs,
      snapshotTimeoutMs: snapshotTimeout ?? ORCHESTRATION_DEFAULTS.snapshotTimeoutMs,
    })),
  );

export type OrchestrationConfig = z.output<ReturnType<typeof orchestrationConfigSchema>>;
