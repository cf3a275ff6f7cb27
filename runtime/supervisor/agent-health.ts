/**
 * An agent's `ctx.health(ok, reason?)` report as the daemon keeps it (README "Deploying updates"): the note comes
 * from agent code, so only a boolean `ok` counts and the reason is bounded and sanitised like a log line.
 */
import { sanitiseMessage } from '../logging/log-sanitiser.ts';
import type { IAgentStatus } from './agent-status.ts';

export type AgentHealth = NonNullable<IAgentStatus['health']>;

/** Longest reason kept, in characters. */
const MAX_REASON_CHARS = 200;

/** The report an `agent.health` note carries, or undefined for a note that is not one. */
export function readHealthNote(p: unknown): AgentHealth | undefined {
  const note = (typeof p === 'object' && p !== null ? p : {}) as { ok?: unknown; reason?: unknown };
  if (typeof note.ok !== 'boolean') return undefined;
  return typeof note.reason === 'string' ? { ok: note.ok, reason: sanitiseMessage(note.reason.slice(0, MAX_REASON_CHARS)) } : { ok: note.ok };
}
