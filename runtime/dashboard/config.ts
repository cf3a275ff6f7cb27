/**
 * The daemon config's `dashboard` section (README "Configuration"), a zod fragment for runtime/daemon/config-schema.ts.
 *
 *   dashboard:
 *     listen: 127.0.0.1:8080                      # or `dashboard: false`: no dashboard
 *     tokenFile: /etc/openstarry/dashboard-token  # the actions' bearer token; without one: read-only, loopback only
 *     sampleIntervalMs: 5000                      # how often the sensors are read for the page's charts
 */
import * as z from 'zod';
import { parseListen } from './dashboard-server.ts';

const listenAddress = z.string().superRefine((value, ctx) => {
  try {
    parseListen(value);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});

/** `dashboard: { listen }`, or `false` (the same as leaving it out: no dashboard). */
export const dashboardConfigSchema = z.union([z.literal(false), z.object({ listen: listenAddress.default('127.0.0.1:8080'), enabled: z.boolean().default(true), tokenFile: z.string().min(1).optional(), sampleIntervalMs: z.number().int().min(1000).max(60_000).default(5000) }).strict()]).transform((d) => (d === false || !d.enabled ? { enabled: false as const } : { enabled: true as const, listen: d.listen, sampleIntervalMs: d.sampleIntervalMs, ...(d.tokenFile === undefined ? {} : { tokenFile: d.tokenFile }) }));

export type DashboardConfig = z.output<typeof dashboardConfigSchema>;
