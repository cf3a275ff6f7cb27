/**
 * `deployments/journal.json` (issue 16, README "Deploying updates"): each template's committed versions and the one
 * deployment in flight, in one document written through the power-cut-safe file (runtime/durable-file.ts), so a
 * write leaves either the old or the new document.
 *
 * Why one document: the commit is then a single atomic write (in-flight cleared, current := to, previous := from).
 * Before that write the board's current version is still `from`; after it, `to`. A power cut between any two steps
 * therefore leaves exactly one of the two versions current, and the boot (resolveUnfinished in deploy-recovery.ts)
 * rolls an unfinished deployment back: the agent's state copy in `inFlight.stateBackup` is restored and the
 * current version is spawned again.
 */
import * as z from 'zod/mini';
import '../zod-messages.ts';
import type { DurableFs } from '../durable-file.ts';
import { DurableTextFile } from '../durable-file.ts';
import { ErrorCode, OpenStarryError } from '../errors.ts';
import type { JsonValue } from '../state/state-schema.ts';

/** Where a deployment in flight is; written before each step it names starts. */
export type InFlightPhase = 'staged' | 'swapping' | 'watching' | 'rolling-back';

const jsonValue = z.custom<JsonValue>((v) => v !== undefined, 'value is missing');

const failedSchema = z.strictObject({ version: z.string(), reason: z.string(), at: z.string() });

const templateVersionsSchema = z.strictObject({
  current: z.optional(z.string()),
  previous: z.optional(z.string()),
  /** Versions on disk, oldest first (at most the last 3, plus current and previous). */
  kept: z.array(z.string()),
  /** The last failed deployments, newest last (bounded: MAX_FAILED). */
  failed: z.array(failedSchema),
});

const inFlightSchema = z.strictObject({
  templateId: z.string(),
  from: z.optional(z.string()),
  to: z.string(),
  phase: z.enum(['staged', 'swapping', 'watching', 'rolling-back']),
  /** The agent's state snapshot before the swap; null when it had none. */
  stateBackup: jsonValue,
  /** An agent of the template was running before the deployment: after a rollback it runs again. */
  wasRunning: z.boolean(),
});

const documentSchema = z.strictObject({
  version: z.literal(1),
  inFlight: z.nullable(inFlightSchema),
  templates: z.record(z.string(), templateVersionsSchema),
});

export type TemplateVersions = z.infer<typeof templateVersionsSchema>;
export type FailedVersion = z.infer<typeof failedSchema>;
export type InFlight = z.infer<typeof inFlightSchema>;
export type DeployDocument = z.infer<typeof documentSchema>;

export const MAX_FAILED = 5;

export function emptyDocument(): DeployDocument {
  return { version: 1, inFlight: null, templates: {} };
}

export class DeployJournal {
  readonly #file: DurableTextFile;
  #doc: DeployDocument;

  private constructor(file: DurableTextFile, doc: DeployDocument) {
    this.#file = file;
    this.#doc = doc;
  }

  /**
   * Reads the journal (its backup when the file is torn or invalid); a missing file is an empty journal.
   * @throws ERR_STATE_CORRUPT when neither the file nor its backup is a valid journal
   */
  static async open(file: string, options: { fs?: DurableFs } = {}): Promise<DeployJournal> {
    const durable = new DurableTextFile(file, options.fs ? { fs: options.fs } : {});
    const text = await durable.read();
    if (text === null) return new DeployJournal(durable, emptyDocument());
    const main = parse(text);
    if (main.ok) {
      durable.markCurrentValid(true);
      return new DeployJournal(durable, main.doc);
    }
    durable.markCurrentValid(false);
    const backup = await durable.readBackup();
    const fromBackup = backup === null ? undefined : parse(backup);
    if (fromBackup?.ok) return new DeployJournal(durable, fromBackup.doc);
    throw new OpenStarryError(ErrorCode.STATE_INVALID, `${file}: ${main.reason}${backup === null ? '' : '; its backup is not valid either'}`);
  }

  /** A copy of the document. */
  get document(): DeployDocument {
    return structuredClone(this.#doc);
  }

  get inFlight(): InFlight | null {
    return this.#doc.inFlight ? structuredClone(this.#doc.inFlight) : null;
  }

  versions(templateId: string): TemplateVersions {
    return structuredClone(this.#doc.templates[templateId] ?? { kept: [], failed: [] });
  }

  /** Applies `change` to a copy and writes it durably; the journal in memory changes only once the write succeeded. */
  async update(change: (doc: DeployDocument) => void): Promise<void> {
    const next = structuredClone(this.#doc);
    change(next);
    await this.#file.write(JSON.stringify(next));
    this.#doc = next;
  }
}

function parse(text: string): { ok: true; doc: DeployDocument } | { ok: false; reason: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `not JSON: ${(err as Error).message}` };
  }
  const result = documentSchema.safeParse(value);
  if (!result.success) return { ok: false, reason: result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ') };
  return { ok: true, doc: result.data };
}

/** Records a failed version on a template's entry (newest last, bounded). */
export function recordFailed(doc: DeployDocument, templateId: string, failed: FailedVersion): void {
  const entry = (doc.templates[templateId] ??= { kept: [], failed: [] });
  entry.failed = [...entry.failed.filter((f) => f.version !== failed.version), failed].slice(-MAX_FAILED);
}
