/**
 * Capability grammar (README "Writing an agent"): `<kind>:<resource>:<operation>`. This module checks the syntax; resolving a
 * resource against the device registry happens at spawn time in the HAL service.
 *
 * Kinds and their operations:
 *   sensor:<device|type>:read           actuator:<device>:control      gpio:<device>:read|write|watch
 *   camera:<device>:stream|snapshot     serial:<device>:open           events:<pattern>:publish|subscribe
 *   agents:<template|*>:spawn|kill|list net:<host|*>:connect
 * `*` is accepted as the resource only for `events` (topic patterns), `agents` and `net`.
 */
export const CAPABILITY_KINDS = {
  sensor: ['read'],
  actuator: ['control'],
  gpio: ['read', 'write', 'watch'],
  camera: ['stream', 'snapshot'],
  serial: ['open'],
  events: ['publish', 'subscribe'],
  agents: ['spawn', 'kill', 'list'],
  net: ['connect'],
} as const satisfies Record<string, readonly string[]>;

export type CapabilityKind = keyof typeof CAPABILITY_KINDS;

export interface Capability {
  kind: CapabilityKind;
  resource: string;
  operation: string;
  /** The text as written in the manifest. */
  raw: string;
}

const WILDCARD_KINDS = new Set<CapabilityKind>(['events', 'agents', 'net']);
const RESOURCE = /^[A-Za-z0-9_.\-/*+#]+$/;

/** Parses one capability string, or returns the reason it is not one. */
export function parseCapability(raw: string): Capability | { error: string } {
  const parts = raw.split(':');
  if (parts.length !== 3) return { error: `"${raw}" is not <kind>:<resource>:<operation>` };
  const [kind, resource, operation] = parts as [string, string, string];
  if (!Object.hasOwn(CAPABILITY_KINDS, kind)) {
    return { error: `"${raw}": unknown kind "${kind}" (one of ${Object.keys(CAPABILITY_KINDS).join(', ')})` };
  }
  const k = kind as CapabilityKind;
  const ops: readonly string[] = CAPABILITY_KINDS[k];
  if (!ops.includes(operation)) return { error: `"${raw}": operation "${operation}" is not one of ${ops.join(', ')} for ${kind}` };
  if (resource === '' || !RESOURCE.test(resource)) return { error: `"${raw}": resource "${resource}" is empty or has characters outside [A-Za-z0-9_.-/*+#]` };
  if (resource.includes('*') && !WILDCARD_KINDS.has(k)) return { error: `"${raw}": "*" is not allowed in a ${kind} resource; name the device` };
  return { kind: k, resource, operation, raw };
}
