/**
 * The agent manifest (`agent.json`, README "Writing an agent"); a template is a manifest served by the design layer.
 * Validated once, here, at the boundary; everything downstream receives the typed, defaulted Manifest.
 */
import * as z from 'zod/mini';
import '../zod-messages.ts';
import { parseCapability } from '../../hal/capability-grammar.ts';
import { ISOLATIONS } from './isolations.ts';

export { ISOLATIONS };

/** Starts with a letter, so an agent id can never be mistaken for a pid (pids are numbers). */
export const AGENT_ID = /^[a-z][a-z0-9._-]{0,62}$/;
/** A manifest's `version`: `MAJOR.MINOR.PATCH[-pre][+build]` in semver.org 2.0.0's shape (§2, §9, §10; looser than it:
 *  leading zeros and empty dot-separated identifiers pass, as they always have here), ordered by
 *  runtime/deploy/semver.ts. The one definition: a fleet deployment document (runtime/fleet/deploy-document.ts) names
 *  a bundle's manifest version, so both accept the same versions. */
export const SEMVER = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;
export const RESTART_POLICIES = ['never', 'on-failure', 'always'] as const;

const jsonValue: z.ZodMiniType<unknown> = z.lazy(() =>
  z.union([z.null(), z.boolean(), z.number(), z.string(), z.array(jsonValue), z.record(z.string(), jsonValue)]),
);

const pluginPath = z.string().check(
  z.minLength(1),
  z.refine((p) => !p.startsWith('/') && !p.split(/[\\/]/).includes('..'), 'must be a relative path inside the agent folder (no "/" prefix, no "..")'),
  z.refine((p) => /\.(m?js)$/.test(p), 'must name an ES module file ending in .js or .mjs'),
);

const capability = z.string().check(
  z.superRefine((raw, ctx) => {
    const parsed = parseCapability(raw);
    if ('error' in parsed) ctx.addIssue({ code: 'custom', message: parsed.error });
  }),
);

const toolDefinition = z.strictObject({
  name: z.string().check(z.regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/, 'must be an identifier (letters, digits, _ . -)')),
  description: z.string().check(z.minLength(1)),
  parameters: z.optional(z.record(z.string(), jsonValue)),
});

/** limits.memoryMb of a manifest that gives none. */
export const DEFAULT_MEMORY_MB = 64;

export const manifestSchema = z.strictObject({
  id: z.string().check(z.regex(AGENT_ID, 'must be lowercase letters, digits, ".", "_" or "-", starting with a letter, at most 63 characters')),
  version: z.string().check(z.regex(SEMVER, 'must be a semantic version such as 1.0.0')),
  description: z.optional(z.string()),
  plugins: z.array(pluginPath).check(z.minLength(1, 'must list at least one plugin module')),
  isolation: z._default(z.enum(ISOLATIONS), 'worker'),
  capabilities: z._default(z.array(capability), []),
  limits: z._default(
    z.strictObject({
      memoryMb: z._default(z.int().check(z.gte(8), z.lte(8192)), DEFAULT_MEMORY_MB),
      cpuPercent: z._default(z.number().check(z.gte(1), z.lte(100)), 100),
      tokens: z.optional(z.int().check(z.gte(0))),
    }),
    { memoryMb: DEFAULT_MEMORY_MB, cpuPercent: 100 },
  ),
  restart: z._default(
    z.strictObject({
      policy: z._default(z.enum(RESTART_POLICIES), 'never'),
      maxRestarts: z._default(z.int().check(z.gte(0), z.lte(1000)), 5),
      backoffMs: z._default(z.int().check(z.gte(0), z.lte(3_600_000)), 1000),
    }),
    { policy: 'never', maxRestarts: 5, backoffMs: 1000 },
  ),
  /** SIGTERM grace period; capped so one agent cannot outlast systemd's TimeoutStopSec at shutdown. */
  stopGraceMs: z.optional(z.int().check(z.gte(0), z.lte(60_000))),
  /**
   * The agent reports its own health with `ctx.health(ok, reason?)`; a deployment commits only when its last report
   * in the health window is OK (README "Deploying updates").
   */
  health: z.optional(z.boolean()),
  tools: z._default(z.array(toolDefinition), []).check(
    z.superRefine((tools, ctx) => {
      const seen = new Set<string>();
      tools.forEach((t, i) => {
        if (seen.has(t.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate tool name "${t.name}"` });
        seen.add(t.name);
      });
    }),
  ),
  config: z._default(z.record(z.string(), jsonValue), {}),
});

export type Manifest = z.output<typeof manifestSchema>;
export type Isolation = (typeof ISOLATIONS)[number];
export type RestartPolicy = Manifest['restart'];
