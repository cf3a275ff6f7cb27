/**
 * The state DB document (docs/ARCHITECTURE.md "State DB"): agent snapshots, the desired-agents journal and the registry
 * of installed templates and plugins, in one versioned JSON file. Validated once, when the file is read
 * (docs/ARCHITECTURE.md "Validation at the boundary"); everything the daemon hands in later is validated by the setter that takes it.
 *
 * Times are the injected Clock's milliseconds (runtime/clock.ts), not ISO strings: smaller on every rewrite.
 */
import * as z from 'zod/mini';
import '../zod-messages.ts';
import { AGENT_ID } from '../design/manifest-schema.ts';

export const STATE_VERSION = 1;

/** What JSON.parse can return; snapshots are plain data (see json-snapshot.ts for how that is enforced). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

const time = z.number().check(z.nonnegative());
const agentId = z.string().check(z.regex(AGENT_ID, 'must be an agent id'));

/** Any value JSON.parse produced is JSON; the key just has to be present. */
const snapshotValue = z.custom<JsonValue>((v) => v !== undefined, 'snapshot is missing');

export const agentStateSchema = z.strictObject({
  snapshot: snapshotValue,
  updatedAt: time,
});

/** One agent the daemon means to keep running: what the abnormal-interruption scan hands back at boot. */
export const desiredAgentSchema = z.strictObject({
  agentId,
  /** The template id (or manifest path) it was spawned from, so it can be spawned again. */
  template: z.string().check(z.minLength(1)),
  pid: z.optional(z.string().check(z.minLength(1))),
  since: time,
});

/** `sha256:<64 hex>`; see contentHash in state-registry.ts. */
export const CONTENT_HASH = /^sha256:[0-9a-f]{64}$/;

export const registryEntrySchema = z.strictObject({
  id: z.string().check(z.minLength(1)),
  version: z.string().check(z.minLength(1)),
  path: z.string().check(z.minLength(1)),
  hash: z.string().check(z.regex(CONTENT_HASH, 'must be sha256:<64 lowercase hex digits>')),
});

const unique = (ids: readonly string[]): boolean => new Set(ids).size === ids.length;
export const registryListSchema = z.array(registryEntrySchema).check(z.refine((l) => unique(l.map((e) => e.id)), 'ids must be unique'));
export const desiredListSchema = z.array(desiredAgentSchema).check(z.refine((l) => unique(l.map((d) => d.agentId)), 'agent ids must be unique'));

export const journalSchema = z.strictObject({
  desired: desiredListSchema,
  /** Set by a clean shutdown, cleared at boot: false at the next boot means the previous run was interrupted. */
  cleanShutdown: z.boolean(),
  bootCount: z.int().check(z.nonnegative()),
  lastBootAt: z.nullable(time),
  lastShutdownAt: z.optional(time),
});

export const stateDocumentSchema = z.strictObject({
  version: z.literal(STATE_VERSION),
  agents: z.record(agentId, agentStateSchema),
  journal: journalSchema,
  registry: z.strictObject({ templates: registryListSchema, plugins: registryListSchema }),
});

export type StateDocument = z.output<typeof stateDocumentSchema>;
export type AgentState = z.output<typeof agentStateSchema>;
export type DesiredAgent = z.output<typeof desiredAgentSchema>;
export type RegistryEntry = z.output<typeof registryEntrySchema>;
export type RegistryKind = keyof StateDocument['registry'];

/**
 * The document of a first boot. cleanShutdown starts true: with no previous run there is nothing that was
 * interrupted.
 */
export function freshDocument(): StateDocument {
  return {
    version: STATE_VERSION,
    agents: {},
    journal: { desired: [], cleanShutdown: true, bootCount: 0, lastBootAt: null },
    registry: { templates: [], plugins: [] },
  };
}
