/**
 * The daemon config's `homeassistant` section (README "Home Assistant"), a zod/mini fragment for
 * runtime/daemon/config-schema.ts. Off by default; when off, nothing of runtime/homeassistant/ but this file is loaded.
 *
 *   homeassistant:
 *     enabled: true          # publish Home Assistant MQTT discovery configs on the link's broker
 *     prefix: homeassistant  # Home Assistant's discovery prefix (its MQTT integration's default)
 *     interval: 30s          # sensor and board states at most this often (ms or "30s"-style)
 */
import * as z from 'zod/mini';
import '../zod-messages.ts';
import { parseDuration } from '../orchestrator/duration.ts';

export const HOMEASSISTANT_DEFAULTS = { enabled: false, prefix: 'homeassistant', intervalMs: 30_000 } as const;

const MIN_INTERVAL_MS = 1000;
const MAX_INTERVAL_MS = 3_600_000;

/** A discovery prefix is one or more topic levels, no wildcards, no empty level, no leading or trailing `/`. */
const PREFIX = /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/;

const interval = z.pipe(
  z.union([z.number(), z.string()]),
  z.transform((value, ctx) => {
    const ms = typeof value === 'number' ? value : parseDuration(value);
    if (ms === undefined || !Number.isFinite(ms) || ms < MIN_INTERVAL_MS || ms > MAX_INTERVAL_MS) {
      ctx.issues.push({ code: 'custom', input: value, message: `"${String(value)}" must be a duration between 1s and 1h (a number of ms, or e.g. "30s", "5m")` });
      return z.NEVER;
    }
    return Math.round(ms);
  }),
);

export const homeassistantConfigSchema = z.prefault(
  z.pipe(
    z.strictObject({
      enabled: z._default(z.boolean(), HOMEASSISTANT_DEFAULTS.enabled),
      prefix: z._default(z.string().check(z.maxLength(128), z.regex(PREFIX, 'must be topic levels of letters, digits, "_" or "-" separated by "/", e.g. "homeassistant"')), HOMEASSISTANT_DEFAULTS.prefix),
      interval: z.optional(interval),
    }),
    z.transform(({ enabled, prefix, interval: ms }) => ({ enabled, prefix, intervalMs: ms ?? HOMEASSISTANT_DEFAULTS.intervalMs })),
  ),
  {},
);

export type HomeAssistantConfig = z.output<typeof homeassistantConfigSchema>;
