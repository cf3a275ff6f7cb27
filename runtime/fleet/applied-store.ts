/**
 * What the fleet part has handled, per template, kept in a small durable file in the state directory
 * (runtime/durable-file.ts: survives a power cut mid-write). Issue 16: "a document already applied is not applied
 * twice; an older one is ignored". The broker re-sends a retained document at every reconnect and every boot, so
 * the last document handled is remembered whatever its outcome (a rolled-back one is not retried until a new
 * document replaces it), and the last committed one separately (an older version than it is ignored).
 */
import * as z from 'zod/mini';
import '../zod-messages.ts';
import { DurableTextFile } from '../durable-file.ts';
import type { DurableFs } from '../durable-file.ts';

const entrySchema = z.object({
  version: z.string(),
  sha256: z.string(),
  phase: z.string(),
  reason: z.optional(z.string()),
  at: z.string(),
});
const recordSchema = z.object({ last: entrySchema, committed: z.optional(z.object({ version: z.string(), sha256: z.string() })) });
const fileSchema = z.object({ templates: z.record(z.string(), recordSchema) });

export type AppliedEntry = z.infer<typeof entrySchema>;
export type AppliedRecord = z.infer<typeof recordSchema>;

/** A board holds a handful of templates; a foreign or corrupt file cannot make the record grow past this. */
const MAX_TEMPLATES = 256;

export class AppliedStore {
  readonly #file: DurableTextFile;
  #templates = new Map<string, AppliedRecord>();

  constructor(file: string, options: { fs?: DurableFs } = {}) {
    this.#file = new DurableTextFile(file, options);
  }

  get file(): string {
    return this.#file.file;
  }

  /** Loads the record; a file that does not parse is reported in `problem` (and starts empty), never thrown. */
  async load(): Promise<{ problem?: string }> {
    try {
      const text = await this.#file.read();
      if (text === null) return {};
      const parsed = fileSchema.safeParse(JSON.parse(text));
      if (!parsed.success) return { problem: `${this.file}: not a {"templates": {...}} record (${parsed.error.issues[0]?.message ?? 'invalid'})` };
      this.#templates = new Map(Object.entries(parsed.data.templates).slice(0, MAX_TEMPLATES));
      this.#file.markCurrentValid(true);
      return {};
    } catch (err) {
      return { problem: `${this.file}: ${(err as Error).message}` };
    }
  }

  get(templateId: string): AppliedRecord | undefined {
    return this.#templates.get(templateId);
  }

  /** Records the outcome of one document, durably, before the status saying so is published. */
  async record(templateId: string, entry: AppliedEntry, committed: boolean): Promise<void> {
    const before = this.#templates.get(templateId);
    const next: AppliedRecord = { last: entry };
    const keep = committed ? { version: entry.version, sha256: entry.sha256 } : before?.committed;
    if (keep) next.committed = keep;
    this.#templates.delete(templateId);
    this.#templates.set(templateId, next);
    while (this.#templates.size > MAX_TEMPLATES) this.#templates.delete(this.#templates.keys().next().value as string);
    await this.#file.write(`${JSON.stringify({ templates: Object.fromEntries(this.#templates) }, null, 1)}\n`);
  }
}
