/**
 * The agent manifest (`agent.json`, README "Writing an agent"); a template is a manifest served by the design layer.
 * Validated once, here, at the boundary; everything downstream receives the typed, defaulted Manifest.
 */
import * as z from 'zod';
import { parseCapability } from '../../hal/capability-grammar.ts';
import { ISOLATIONS } from './isolations.ts';

export { ISOLATIONS };

/** Starts with a letter, so an agent id can never be mistaken for a pid (pids are numbers). */
export const AGENT_ID = /^[a-z][a-z0-9._-]{0,62}$/;
export const RESTART_POLICIES = ['never', 'on-failure', 'always'] as const;

const jsonValue: z.ZodType<unknown> = z.lazy(() =>
  z.union([z.null(), z.boolean(), z.number(), z.string(), z.array(jsonValue), z.record(z.string(), jsonValue)]),
);

const pluginPath = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith('/') && !p.split(/[\\/]/).includes('..'), 'must be a relative path inside the agent folder (no "/" prefix, no "..")')
  .refine((p) => /\.(m?js)$/.test(p), 'must name an ES module file ending in .js or .mjs');

const capability = z.string().superRefine((raw, ctx) => {
  const parsed = parseCapability(raw);
  if ('error' in parsed) ctx.addIssue({ code: 'custom', message: parsed.error });
});

const toolDefinition = z
  .object({
    name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/, 'must be an identifier (letters, digits, _ . -)'),
    description: z.string().min(1),
    parameters: z.record(z.string(), jsonValue).optional(),
  })
  .strict();

export const manifestSchema = z
  .object({
    id: z.string().regex(AGENT_ID, 'must be lowercase letters, digits, ".", "_" or "-", starting with a letter, at most 63 characters'),
    version: z.string().regex(/^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?$/, 'must be a semantic version such as 1.0.0'),
    description: z.string().optional(),
    plugins: z.array(pluginPath).min(1, 'must list at least one plugin module'),
    isolation: z.enum(ISOLATIONS).default('worker'),
    capabilities: z.array(capability).default([]),
    limits: z
      .object({
        memoryMb: z.number().int().min(8).max(8192).default(64),
        cpuPercent: z.number().min(1).max(100).default(100),
        tokens: z.number().int().min(0).optional(),
      })
      .strict()
      .default({ memoryMb: 64, cpuPercent: 100 }),
    restart: z
      .object({
        policy: z.enum(RESTART_POLICIES).default('never'),
        maxRestarts: z.number().int().min(0).max(1000).default(5),
        backoffMs: z.number().int().min(0).max(3_600_000).default(1000),
      })
      .strict()
      .default({ policy: 'never', maxRestarts: 5, backoffMs: 1000 }),
    /** SIGTERM grace period; capped so one agent cannot outlast systemd's TimeoutStopSec at shutdown. */
    stopGraceMs: z.number().int().min(0).max(60_000).optional(),
    tools: z
      .array(toolDefinition)
      .default([])
      .superRefine((tools, ctx) => {
        const seen = new Set<string>();
        tools.forEach((t, i) => {
          if (seen.has(t.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate tool name "${t.name}"` });
          seen.add(t.name);
        });
      }),
    config: z.record(z.string(), jsonValue).default({}),
  })
  .strict();

export type Manifest = z.output<typeof manifestSchema>;
export type Isolation = (typeof ISOLATIONS)[number];
export type RestartPolicy = Manifest['restart'];
