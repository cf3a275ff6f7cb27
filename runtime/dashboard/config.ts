/**
 * The daemon config's `dashboard` section (README "Configuration"), a zod fragment for runtime/daemon/config-schema.ts.
 *
 *   dashboard:
 *     listen: 127.0.0.1:8080                      # or `dashboard: false`: no dashboard
 *     tokenFile: /etc/openstarry/dashboard-token  # the actions' bearer token; without one: read-only, loopback only
 *     sampleIntervalMs: 5000                      # how often the sensors are read for the page's charts
 */
import * as z from 'zod/mini';
import '../zod-messages.ts';
import { parseListen } from './dashboard-server.ts';

const listenAddress = () =>
  z.string().check(
    z.superRefine((value, ctx) => {
      try {
        parseListen(value);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    }),
  );

/**
 * `dashboard: { listen, tokenFile?, sampleIntervalMs }`, or `false` (the same as leaving it out: no dashboard). A new
 * schema on each call: the config is read once, at boot (runtime/daemon/config-schema.ts says why).
 */
export const dashboardConfigSchema = () =>
  z.pipe(
    z.union([
      z.literal(false),
      z.strictObject({
        listen: z._default(listenAddress(), '127.0.0.1:8080'),
        enabled: z._default(z.boolean(), true),
        tokenFile: z.optional(z.string().check(z.minLength(1))),
        sampleIntervalMs: z._default(z.int().check(z.gte(1000), z.lte(60_000)), 5000),
      }),
    ]),
    z.transform((d) =>
      d === false || !d.enabled
        ? { enabled: false as const }
        : { enabled: true as const, listen: d.listen, sampleIntervalMs: d.sampleIntervalMs, ...(d.tokenFile === undefined ? {} : { tokenFile: d.tokenFile }) },
    ),
  );

export type DashboardConfig = z.output<ReturnType<typeof dashboardConfigSchema>>;
