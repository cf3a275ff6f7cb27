/**
 * The state DB (docs/ARCHITECTURE.md "State DB"): agent snapshots, the desired-agents journal and the registry in one
 * lowdb document, persisted through DurableTextFile. Writes are coalesced: a change only marks the document
 * dirty and arms one timer; when it fires (every flushIntervalMs at most) the whole document is written once,
 * however many changes came in between. Ten agents saving every 100 ms then cost one write per interval, not a
 * hundred a second — an SD card has a limited number of erase cycles and each rewrite spends some.
 *
 * Writes go one at a time. flush() resolves once everything changed before the call is on disk; calls made
 * while a write runs share the one follow-up write.
 */
import { Low } from 'lowdb';
import type { Adapter } from 'lowdb';
import { systemClock } from '../clock.ts';
import type { Clock } from '../clock.ts';
import { AGENT_ID } from '../design/manifest-schema.ts';
import { ErrorCode, OpenStarryError } from '../errors.ts';
import { silentLogger } from '../logging/logger.ts';
import type { Logger } from '../logging/logger.ts';
import type { DocumentHost } from './document-host.ts';
import { DurableTextFile } from '../durable-file.ts';
import type { DurableFs } from '../durable-file.ts';
import { encodeSnapshot } from './json-snapshot.ts';
import { StateJournal } from './state-journal.ts';
import { loadStateDocument } from './state-recovery.ts';
import type { StateRecovery } from './state-recovery.ts';
import { StateRegistry } from './state-registry.ts';
import type { AgentState, JsonValue, StateDocument } from './state-schema.ts';

export const DEFAULT_FLUSH_INTERVAL_MS = 2000;
/** Per agent. The whole document is rewritten on every flush, so one agent's state costs every write. */
export const DEFAULT_MAX_SNAPSHOT_BYTES = 256 * 1024;

export interface StateDbOptions {
  /** The state file, normally `$OPENSTARRY_HOME/state.json` (docs/ARCHITECTURE.md "Paths and environment"). */
  file: string;
  clock?: Clock;
  log?: Logger;
  fs?: DurableFs;
  flushIntervalMs?: number;
  maxSnapshotBytes?: number;
}

export interface StateDbStats {
  /** Completed file writes, and the bytes they wrote (the SD-card wear figure the bench reports). */
  writes: number;
  bytesWritten: number;
  failedWrites: number;
  /** Writes that could not refresh `<file>.bak` (the older backup stays). */
  backupFailures: number;
  /** Changes not on disk yet. */
  dirty: boolean;
  lastWriteAt?: number;
  lastError?: string;
  /**
   * The last write failed with EROFS: the home is read-only (an SD card the kernel remounted read-only). State is
   * held in memory, writes are retried on the flush timer, and this clears with the first one that succeeds.
   */
  readOnly?: true;
}

/** lowdb's adapter contract over the durable file. Reading goes through loadStateDocument (it needs the backup). */
class DocumentAdapter implements Adapter<StateDocument> {
  constructor(readonly file: DurableTextFile) {}
  read(): Promise<StateDocument | null> {
    return Promise.reject(new Error('the state document is read by loadStateDocument, with backup fallback'));
  }
  write(doc: StateDocument): Promise<void> {
    // Compact JSON: every byte is rewritten on every flush. Serialised here, synchronously, so the text is the
    // document as it was when the write was asked for.
    return this.file.write(`${JSON.stringify(doc)}\n`);
  }
}

export class StateDb {
  readonly file: string;
  readonly recovery: StateRecovery;
  readonly journal: StateJournal;
  readonly registry: StateRegistry;
  readonly #durable: DurableTextFile;
  readonly #low: Low<StateDocument>;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #flushIntervalMs: number;
  readonly #maxSnapshotBytes: number;
  /** JSON text of each agent's stored snapshot, to skip a set() that changes nothing. */
  readonly #snapshotText = new Map<string, string>();
  #changeSeq = 0;
  #savedSeq = 0;
  #timer: unknown;
  #inflight: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #failedWrites = 0;
  #lastWriteAt: number | undefined;
  #lastError: string | undefined;
  #readOnly = false;

  /** Reads the file (falling back to `.bak`, then to a fresh document; see `recovery`). Never fails on a bad file. */
  static async open(options: StateDbOptions): Promise<StateDb> {
    const flushIntervalMs = options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS;
    const maxSnapshotBytes = options.maxSnapshotBytes ?? DEFAULT_MAX_SNAPSHOT_BYTES;
    if (!(flushIntervalMs > 0) || !(maxSnapshotBytes > 0)) {
      throw new OpenStarryError(ErrorCode.INVALID_PARAMS, 'state DB: flushIntervalMs and maxSnapshotBytes must be positive');
    }
    const log = options.log ?? silentLogger;
    const durable = new DurableTextFile(options.file, options.fs === undefined ? {} : { fs: options.fs });
    const { doc, recovery } = await loadStateDocument(durable);
    if (recovery.reason !== undefined) {
      log.warn(recovery.source === 'backup' ? 'state file unusable, loaded its last-good backup' : 'state file and backup unusable, starting fresh', {
        file: durable.file,
        reason: recovery.reason,
      });
    }
    return new StateDb(durable, doc, recovery, { clock: options.clock ?? systemClock, log, flushIntervalMs, maxSnapshotBytes });
  }

  private constructor(durable: DurableTextFile, doc: StateDocument, recovery: StateRecovery, o: { clock: Clock; log: Logger; flushIntervalMs: number; maxSnapshotBytes: number }) {
    this.file = durable.file;
    this.recovery = Object.freeze({ ...recovery });
    this.#durable = durable;
    this.#low = new Low(new DocumentAdapter(durable), doc);
    this.#clock = o.clock;
    this.#log = o.log;
    this.#flushIntervalMs = o.flushIntervalMs;
    this.#maxSnapshotBytes = o.maxSnapshotBytes;
    const low = this.#low;
    const host: DocumentHost = {
      get doc() {
        return low.data;
      },
      recovery,
      log: o.log,
      now: () => this.#clock.now(),
      assertOpen: () => this.#assertOpen(),
      changed: () => this.#changed(),
      flush: () => this.flush(),
    };
    this.journal = new StateJournal(host);
    this.registry = new StateRegistry(host);
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  get stats(): StateDbStats {
    const file = this.#durable.stats;
    const stats: StateDbStats = { writes: file.writes, bytesWritten: file.bytesWritten, failedWrites: this.#failedWrites, backupFailures: file.backupFailures, dirty: this.#savedSeq < this.#changeSeq };
    if (this.#lastWriteAt !== undefined) stats.lastWriteAt = this.#lastWriteAt;
    if (this.#lastError !== undefined) stats.lastError = this.#lastError;
    if (this.#readOnly) stats.readOnly = true;
    return stats;
  }

  /** A copy of the agent's last saved snapshot (what `ctx.state.get()` hydrates from), or undefined. */
  getSnapshot(agentId: string): JsonValue | undefined {
    const entry = this.#entry(agentId);
    return entry === undefined ? undefined : structuredClone(entry.snapshot);
  }

  /** When the snapshot last changed (clock ms), or undefined. */
  snapshotUpdatedAt(agentId: string): number | undefined {
    return this.#entry(agentId)?.updatedAt;
  }

  agentIds(): string[] {
    return Object.keys(this.#agents());
  }

  /**
   * Stores a copy of `value` as the agent's snapshot and marks the document dirty; it reaches the file with the
   * next coalesced flush. Throws ERR_STATE_INVALID (bad agent id, not plain JSON) or ERR_STATE_TOO_LARGE.
   */
  setSnapshot(agentId: string, value: unknown): void {
    this.#assertOpen();
    assertAgentId(agentId);
    const encoded = encodeSnapshot(agentId, value, this.#maxSnapshotBytes);
    const current = this.#entry(agentId);
    const previous = this.#snapshotText.get(agentId) ?? (current === undefined ? undefined : JSON.stringify(current.snapshot));
    // An agent re-saving the same state (a sensor loop that did not change anything) must not cost a write.
    if (previous === encoded.text) return;
    this.#agents()[agentId] = { snapshot: encoded.value, updatedAt: this.#clock.now() };
    this.#snapshotText.set(agentId, encoded.text);
    this.#changed();
  }

  /** Forgets an agent's snapshot (its template was removed). True when there was one. */
  deleteSnapshot(agentId: string): boolean {
    this.#assertOpen();
    if (this.#entry(agentId) === undefined) return false;
    delete this.#agents()[agentId];
    this.#snapshotText.delete(agentId);
    this.#changed();
    return true;
  }

  /** Writes now if anything changed; resolves once every change made before the call is on disk. */
  async flush(): Promise<void> {
    const target = this.#changeSeq;
    while (this.#savedSeq < target) {
      if (this.#inflight !== undefined) {
        await this.#inflight;
        continue;
      }
      const write = this.#writeOnce();
      this.#inflight = write;
      try {
        await write;
      } finally {
        this.#inflight = undefined;
      }
    }
    if (this.#savedSeq === this.#changeSeq) this.#disarm();
  }

  /** Final flush, then no more changes are accepted. Idempotent; later calls return the first call's promise. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#disarm();
      try {
        await this.flush();
      } finally {
        this.#disarm();
      }
    })();
    return this.#closing;
  }

  async #writeOnce(): Promise<void> {
    const seq = this.#changeSeq;
    try {
      await this.#low.write();
    } catch (err) {
      this.#failedWrites++;
      if (this.#lastError === undefined) this.#log.error('state file write failed; will retry', { file: this.file, error: (err as Error).message });
      this.#lastError = (err as Error).message;
      this.#readOnly = ((err as Error).cause as NodeJS.ErrnoException | undefined)?.code === 'EROFS';
      // Keep retrying on the coalescing timer: the card may come back (remount, space freed).
      if (this.#closing === undefined && this.#timer === undefined) this.#arm();
      throw err;
    }
    if (this.#lastError !== undefined) this.#log.info('state file writes recovered', { file: this.file, failedWrites: this.#failedWrites });
    this.#lastError = undefined;
    this.#readOnly = false;
    this.#savedSeq = Math.max(this.#savedSeq, seq);
    this.#lastWriteAt = this.#clock.now();
  }

  #changed(): void {
    this.#changeSeq++;
    if (this.#timer === undefined && this.#closing === undefined) this.#arm();
  }

  #arm(): void {
    const handle = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      // Failures are logged and re-armed by #writeOnce; nothing to add here.
      this.flush().catch(() => undefined);
    }, this.#flushIntervalMs);
    // The flush timer alone must not keep the daemon alive; close() does the final flush.
    (handle as { unref?: () => void } | null)?.unref?.();
    this.#timer = handle;
  }

  #disarm(): void {
    if (this.#timer === undefined) return;
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #assertOpen(): void {
    if (this.#closing !== undefined) throw new OpenStarryError(ErrorCode.NOT_READY, 'the state DB is closed');
  }

  #agents(): StateDocument['agents'] {
    return this.#low.data.agents;
  }

  /** Own keys only: `agents.constructor` is not an agent. */
  #entry(agentId: string): AgentState | undefined {
    const agents = this.#agents();
    return Object.hasOwn(agents, agentId) ? agents[agentId] : undefined;
  }
}

function assertAgentId(agentId: string): void {
  if (!AGENT_ID.test(agentId)) {
    throw new OpenStarryError(ErrorCode.STATE_INVALID, `"${agentId}" is not an agent id`, { details: { agentId } });
  }
}
