/**
 * A fleet deployment document and the board's status message (issue 16 "For a fleet, over the broker"; README
 * "Deploying updates"): the document `{ templateId, version, sha256, url? }` is published retained to
 * `openstarry/<deviceId>/deploy` or `openstarry/groups/<group>/deploy`; each board answers retained on
 * `openstarry/<deviceId>/deploy/status`. Both arrive from the network: parsed with a size cap, then zod.
 */
import * as z from 'zod/mini';
import '../zod-messages.ts';
import { AGENT_ID, SEMVER } from '../design/manifest-schema.ts';
import type { DeployPhase } from '../deploy/deploy-types.ts';
export { compareVersions } from '../deploy/semver.ts';
import { ErrorCode, OpenStarryError } from '../errors.ts';
import { nestedDeeperThan, zodProblems } from '../validation.ts';

/** A document is four short fields: anything near this size is not one. */
export const MAX_DOCUMENT_BYTES = 4096;

export const deployDocumentSchema = z.strictObject({
  templateId: z.string().check(z.regex(AGENT_ID, 'must be a template id (lowercase letters, digits, ".", "_" or "-", starting with a letter)')),
  version: z.string().check(z.regex(SEMVER, 'must be a semantic version such as 1.0.0')),
  sha256: z.string().check(z.regex(/^[0-9a-f]{64}$/, 'must be the sha256 of the bundle file, 64 lowercase hex digits')),
  url: z.optional(z.url({ protocol: /^https?$/, error: 'must be an http or https URL' })),
});

export type DeployDocument = z.infer<typeof deployDocumentSchema>;

/** Parses a document payload; throws ERR_FLEET_DOCUMENT_INVALID naming the topic, field and reason. */
export function parseDeployDocument(topic: string, payload: Uint8Array): DeployDocument {
  const fail = (reason: string): never => {
    throw new OpenStarryError(ErrorCode.FLEET_DOCUMENT_INVALID, `${topic}: ${reason}`);
  };
  if (payload.byteLength > MAX_DOCUMENT_BYTES) fail(`(document): ${payload.byteLength} bytes, more than ${MAX_DOCUMENT_BYTES}`);
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch (err) {
    fail(`(document): not UTF-8 JSON (${(err as Error).message})`);
  }
  if (nestedDeeperThan(value, 4)) fail('(document): nested too deep');
  const parsed = deployDocumentSchema.safeParse(value);
  if (!parsed.success) fail(zodProblems(parsed.error).map((p) => `${p.path === '' ? '(document)' : p.path}: ${p.message}`).join('; '));
  return (parsed as { data: DeployDocument }).data;
}

/** What a board publishes retained on `<prefix>deploy/status`. */
export interface DeployStatusMessage {
  templateId: string;
  version: string;
  sha256: string;
  phase: DeployPhase;
  reason?: string;
  at: string;
}

export const deployStatusSchema = z.object({
  templateId: z.string(),
  version: z.string(),
  sha256: z.string(),
  phase: z.enum(['pending', 'staged', 'healthy', 'rolled-back', 'refused']),
  reason: z.optional(z.string()),
  at: z.string(),
});

/** The topics (issue 16): a board's own, relative to its link prefix, and a group's, absolute. */
export const DEVICE_DEPLOY_TOPIC = 'deploy';
export const STATUS_TOPIC = 'deploy/status';
/** Retained list of the board's groups, so `openstarry deploy status` knows which boards a group holds. */
export const GROUPS_TOPIC = 'deploy/groups';
export const groupDeployTopic = (group: string): string => `openstarry/groups/${group}/deploy`;
