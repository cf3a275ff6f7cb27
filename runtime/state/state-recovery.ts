/**
 * Reading the state file at boot so that a power cut can never stop the daemon from booting (the "a
 * truncated or corrupt file never stops the daemon"): the state file if it is valid, else the last-good backup,
 * else a fresh document — and always a `recovery` record saying which and why, for `openstarry status`.
 */
import { zodProblems } from '../validation.ts';
import type { DurableTextFile } from '../durable-file.ts';
import { STATE_VERSION, freshDocument, stateDocumentSchema } from './state-schema.ts';
import type { StateDocument } from './state-schema.ts';

export interface StateRecovery {
  /** Where the document came from: the state file, its `.bak`, or nothing usable (first boot, or both bad). */
  source: 'file' | 'backup' | 'fresh';
  /** Why the state file was not used; absent when it was, and on a first boot (no file, no backup). */
  reason?: string;
}

export type ParseResult = { ok: true; doc: StateDocument } | { ok: false; reason: string };

/** Text -> document, or the reason it is not one (empty, cut short, not JSON, wrong shape, newer version). */
export function parseStateDocument(text: string): ParseResult {
  if (text.trim() === '') return { ok: false, reason: 'empty (a write cut short)' };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `not valid JSON, probably truncated (${(err as Error).message})` };
  }
  const version = (raw as { version?: unknown } | null)?.version;
  if (typeof version === 'number' && version > STATE_VERSION) {
    return { ok: false, reason: `version ${version} was written by a newer openstarryd` };
  }
  const result = stateDocumentSchema.safeParse(raw);
  if (result.success) return { ok: true, doc: result.data };
  const problems = zodProblems(result.error);
  const shown = problems.slice(0, 3).map((p) => `${p.path === '' ? '(document)' : p.path}: ${p.message}`);
  if (problems.length > shown.length) shown.push(`and ${problems.length - shown.length} more`);
  return { ok: false, reason: `does not match the schema (${shown.join('; ')})` };
}

/** Never throws for a bad or unreadable file; only the caller's own bugs escape. */
export async function loadStateDocument(file: DurableTextFile): Promise<{ doc: StateDocument; recovery: StateRecovery }> {
  const main = await readAndParse(() => file.read());
  if (main.kind === 'ok') {
    file.markCurrentValid(true);
    return { doc: main.doc, recovery: { source: 'file' } };
  }
  file.markCurrentValid(false);
  const mainReason = main.kind === 'missing' ? 'state file missing' : `state file ${main.reason}`;
  const backup = await readAndParse(() => file.readBackup());
  if (backup.kind === 'ok') return { doc: backup.doc, recovery: { source: 'backup', reason: mainReason } };
  // No file and no backup is a first boot, not a recovery: nothing to report.
  if (main.kind === 'missing' && backup.kind === 'missing') return { doc: freshDocument(), recovery: { source: 'fresh' } };
  const backupReason = backup.kind === 'missing' ? 'no backup' : `backup ${backup.reason}`;
  return { doc: freshDocument(), recovery: { source: 'fresh', reason: `${mainReason}; ${backupReason}` } };
}

type Read = { kind: 'ok'; doc: StateDocument } | { kind: 'missing' } | { kind: 'bad'; reason: string };

async function readAndParse(read: () => Promise<string | null>): Promise<Read> {
  let text: string | null;
  try {
    text = await read();
  } catch (err) {
    // EIO on a failing card, EACCES after a bad chown: as unusable as a corrupt file, and as survivable.
    return { kind: 'bad', reason: `unreadable (${(err as Error).message})` };
  }
  if (text === null) return { kind: 'missing' };
  const parsed = parseStateDocument(text);
  return parsed.ok ? { kind: 'ok', doc: parsed.doc } : { kind: 'bad', reason: parsed.reason };
}
