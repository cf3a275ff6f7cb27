/**
 * The persisted, bounded outbound queue of the MQTT link (docs/ARCHITECTURE.md "MQTT link"): QoS 1 messages are stored here
 * first, sent in order while connected, and removed when the broker's PUBACK arrives. It survives a daemon
 * restart and a power cut.
 *
 * Storage — an append-only log (format in queue-log-format.ts), NOT lowdb: lowdb rewrites its whole file on each
 * write, so 10,000 queued messages would cost 10,000 rewrites of a growing file (see scripts/bench/mqtt-bench.ts).
 *   - Group commit: push() encodes a PUT frame and an overflow drop a REMOVE frame; all frames of one synchronous
 *     run of JavaScript (a burst of publishes) are written by ONE write(2) on a microtask — before any timer, I/O
 *     callback or network send, the link's pump included — instead of one write(2) each. A process that ends
 *     before that microtask (an uncaught exception, process.exit()) still writes them (a process 'exit' hook,
 *     log-writes.ts); only a kill inside that same run (SIGKILL, the OOM killer) can lose what it pushed.
 *   - Acks are lazier still: ack() only notes the sequence number; the noted ones go out as one REMOVE frame with
 *     the next write, `fsyncIntervalMs` later at the latest (at once with 0), with MAX_LAZY_ACKS waiting, or at
 *     close. An ack lost in a crash only means the message is sent again after the restart (at-least-once).
 *   - fsync is batched (log-writes.ts): a power cut loses at most the last `fsyncIntervalMs` of messages; the torn
 *     frame it may leave is cut off at the next open. Compaction rewrites a half-dead file (queue-log-file.ts).
 *
 * Order, coalescing, bounds and overflow ('drop-oldest'): the in-memory window, queue-window.ts.
 *
 * Time to live (`ttlMs`, mqtt.queue.ttlMs; Azure IoT Edge's store-and-forward `timeToLiveSecs`): each record
 * carries the time it was queued, so its age survives a restart. A message at least `ttlMs` old is dropped — as a
 * REMOVE record, counted in stats().expired — when the drain reaches it (peekAfter), when the queue is opened, and
 * when the log is compacted. Messages already handed to the broker (at or below peekAfter's `afterSeq`) are left
 * to their PUBACK. Age is measured on the injected clock; a clock that went back (a Pi before NTP) ages nothing.
 *
 * I/O errors (disk full, a card read-only at open or later): the queue keeps working in memory, stats().persistError
 * says why, appends stop (nothing on disk is cut or replaced); a full rewrite, tried on a write every REWRITE_RETRY_MS
 * and at close(), brings the file back in line and clears the error once the disk takes it.
 */
import path from 'node:path';
import type { Clock } from '../clock.ts';
import { systemClock } from '../clock.ts';
import { OpenStarryError } from '../errors.ts';
import type { Logger } from '../logging/logger.ts';
import { LinkErrorCode } from './errors.ts';
import { decodeLog, encodePutInto, encodeRemove, putFrameBytes } from './queue-log-format.ts';
import { flushOnExit, LogAppender } from './log-writes.ts';
import { compactionDue, encodeSnapshot, isReadOnly, openForAppend, queueIoError, readLog, replaceLog } from './queue-log-file.ts';
import { QueueWindow, type QueuedMessage } from './queue-window.ts';

export type { QueuedMessage } from './queue-window.ts';

export interface OutboundQueueStats {
  queued: number;
  bytes: number; // topic + payload bytes of the queued messages (what `maxBytes` bounds)
  /** Messages dropped by the overflow policy since open. */
  dropped: number;
  /** Queued messages replaced by a newer value on the same state topic since open. */
  coalesced: number;
  /** Messages dropped since open because they were older than `ttlMs`. */
  expired: number;
  /** Size of the log file (live + removed records not yet compacted away). */
  fileBytes: number;
  compactions: number;
  /** Bytes of a torn or garbled tail cut off when the log was opened. */
  discardedTailBytes: number;
  /**
   * Records of a newer version's format found in the log (a board rolled back after an update): kept in the file
   * as they are, through compactions, for that version to read once it runs again; this version cannot read them,
   * nor tell which of them that version had already sent.
   */
  newerRecords: number;
  persistError?: string;
}

export interface OutboundQueueOptions {
  /** Directory of the queue (created if missing); holds `outbound.log`. */
  dir: string;
  maxMessages?: number;
  maxBytes?: number;
  overflow?: 'drop-oldest';
  /** Topics whose queued message is replaced by a newer one. Default: none. */
  coalesce?: (topic: string) => boolean;
  fsyncIntervalMs?: number;
  /** Compaction is not considered below this file size. Default 256 KiB. */
  compactMinBytes?: number;
  /** Messages this old (ms since queued) are dropped and counted as expired (see the file comment). Default: never. */
  ttlMs?: number;
  clock?: Clock;
  log?: Logger;
}

export const QUEUE_FILE = 'outbound.log';
const MAX_ACKS_PER_FRAME = 65_536;
/** Acks noted before they are written regardless of the timer (one REMOVE frame of 24 KiB). */
const MAX_LAZY_ACKS = 4096;
/** While an I/O error stops appends, a full rewrite (it clears the error) is tried at most this often. */
const REWRITE_RETRY_MS = 30_000;

export class OutboundQueue {
  readonly file: string;
  readonly #o: Required<Omit<OutboundQueueOptions, 'log'>> & { log: Logger | undefined };
  /** The queued messages in memory; this class keeps the log on disk in step with it. */
  readonly #window: QueueWindow;
  #lastSeq = 0;
  #fileBytes = 0;
  readonly #appender: LogAppender;
  #compaction: Promise<void> | undefined;
  #heldDuringCompaction: Buffer[] = [];
  /** Frames of this run not written yet, and acked sequence numbers not yet in a REMOVE frame (group commit). */
  #pending: Buffer[] = [];
  #acked: number[] = [];
  #flushQueued = false;
  #ackTimer: unknown;
  #closed = false;
  #rewriteAfter = 0;
  readonly #stats = { compactions: 0, discardedTailBytes: 0 };
  /**
   * What a newer version wrote that this one cannot read (queue-log-format.ts, "Versions"), framed once at open and
   * written back first at each compaction: its records, then the acked sequence numbers none of our own records had —
   * its REMOVE records, which compaction would otherwise drop and so send those messages again once that version
   * reads the file. Empty when the file holds nothing of a newer version.
   */
  #kept: Buffer[] = [];
  /** Their bytes, and how many of them are the newer version's records (`newerRecords`). */
  #keptBytes = 0;
  #newerRecords = 0;

  private constructor(options: OutboundQueueOptions) {
    this.#o = {
      dir: path.resolve(options.dir),
      maxMessages: options.maxMessages ?? 10_000,
      maxBytes: options.maxBytes ?? 16 * 2 ** 20,
      overflow: options.overflow ?? 'drop-oldest',
      coalesce: options.coalesce ?? (() => false),
      fsyncIntervalMs: options.fsyncIntervalMs ?? 1000,
      compactMinBytes: options.compactMinBytes ?? 256 * 1024,
      ttlMs: options.ttlMs ?? Infinity,
      clock: options.clock ?? systemClock,
      log: options.log,
    };
    this.file = path.join(this.#o.dir, QUEUE_FILE);
    this.#window = new QueueWindow(this.#o);
    this.#appender = new LogAppender({ file: this.file, fsyncIntervalMs: this.#o.fsyncIntervalMs, clock: this.#o.clock, log: this.#o.log });
  }

  /** Opens (or creates) the queue in `dir`, replaying the log; a torn or garbled tail is cut off. */
  static async open(options: OutboundQueueOptions): Promise<OutboundQueue> {
    const q = new OutboundQueue(options);
    await q.#load();
    return q;
  }

  get closed(): boolean {
    return this.#closed;
  }
  get size(): number {
    return this.#window.size;
  }

  stats(): OutboundQueueStats {
    const s: OutboundQueueStats = { queued: this.#window.size, bytes: this.#window.bytes, fileBytes: this.#fileBytes, ...this.#window.counts, ...this.#stats, newerRecords: this.#newerRecords };
    if (this.#appender.error !== undefined) s.persistError = this.#appender.error;
    return s;
  }

  /**
   * Stores a message (written to the log with the rest of this synchronous run, on a microtask before any I/O
   * callback or network send: see the file header) and returns it with its sequence number. Throws
   * ERR_LINK_MESSAGE_TOO_LARGE for a message bigger than the whole queue, ERR_LINK_STOPPED after close().
   */
  push(topic: string, payload: Buffer, options: { retain?: boolean; correlationData?: Buffer } = {}): QueuedMessage {
    if (this.#closed) throw new OpenStarryError(LinkErrorCode.STOPPED, 'the outbound queue is closed');
    const topicBytes = Buffer.byteLength(topic, 'utf8');
    const size = topicBytes + payload.length;
    if (size > this.#o.maxBytes) throw new OpenStarryError(LinkErrorCode.MESSAGE_TOO_LARGE, `message on ${topic} is ${size} bytes; the queue holds at most ${this.#o.maxBytes}`);
    const frameBytes = putFrameBytes(topicBytes, payload.length, options.correlationData?.length);
    const entry = this.#window.insert(++this.#lastSeq, this.#o.clock.now(), topic, payload, options.retain === true, options.correlationData, frameBytes, size);
    const frame = Buffer.allocUnsafe(frameBytes);
    encodePutInto(entry, frame, 0);
    this.#append(frame);
    const dropped = this.#window.enforceBounds();
    if (dropped.length > 0) this.#append(encodeRemove(dropped));
    return entry;
  }

  /** Up to `limit` messages above `afterSeq` (the in-flight window), in queue order; expired ones it meets go. */
  peekAfter(afterSeq: number, limit: number): QueuedMessage[] {
    const out: QueuedMessage[] = [];
    if (limit <= 0) return out;
    this.#expire(afterSeq, false);
    for (const e of this.#window.values()) {
      if (e.seq <= afterSeq) continue;
      out.push(e);
      if (out.length >= limit) break;
    }
    return out;
  }

  /** Removes a message (PUBACK received). False if it is no longer queued (coalesced, dropped, acked). */
  ack(seq: number): boolean {
    if (this.#closed || !this.#window.remove(seq)) return false;
    this.#acked.push(seq);
    if (this.#o.fsyncIntervalMs === 0 || this.#acked.length >= MAX_LAZY_ACKS) this.#queueFlush();
    else this.#queueLazyFlush();
    return true;
  }

  /**
   * Writes what this run pushed, dropped and acked, with one write(2) (group commit, see the file comment). Runs on
   * its own on a microtask; callable any time, a no-op when nothing is pending.
   */
  flush(): void {
    this.#flushQueued = false;
    flushOnExit.delete(this);
    if (this.#ackTimer !== undefined) this.#o.clock.clearTimeout(this.#ackTimer);
    this.#ackTimer = undefined;
    if (this.#acked.length > 0) {
      for (const frame of removeFrames(this.#acked)) {
        this.#fileBytes += frame.length;
        this.#pending.push(frame);
      }
      this.#acked = [];
    }
    if (this.#pending.length === 0) return;
    const frames = this.#pending;
    this.#pending = [];
    if (this.#compaction !== undefined) this.#heldDuringCompaction.push(...frames);
    else this.#appender.write(frames);
    this.#maybeCompact();
  }

  #queueFlush(): void {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    flushOnExit.add(this);
    queueMicrotask(() => {
      if (this.#flushQueued) this.flush();
    });
  }

  #queueLazyFlush(): void {
    if (this.#flushQueued || this.#ackTimer !== undefined) return;
    flushOnExit.add(this);
    this.#ackTimer = this.#o.clock.setTimeout(() => {
      this.#ackTimer = undefined;
      this.flush();
    }, this.#o.fsyncIntervalMs);
  }

  /** Flushes, fsyncs and closes the log. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
    await this.#compaction;
    // Appends stopped at an error: one full rewrite brings the file back in line with memory, if the disk lets us.
    if (this.#appender.error !== undefined) await this.#compact().catch(() => undefined);
    this.#appender.close();
  }

  async #load(): Promise<void> {
    const data = await readLog(this.file);
    const { records, goodBytes } = decodeLog(data);
    const foreign: Buffer[] = [];
    const unmatchedRemoves: number[] = [];
    for (const r of records) {
      if (r.kind === 'remove') {
        for (const s of r.seqs) if (!this.#window.remove(s)) unmatchedRemoves.push(s);
        continue;
      }
      // Its sequence number is taken too: ours must not reuse it (the newer version would read both).
      this.#lastSeq = Math.max(this.#lastSeq, r.seq);
      if (r.kind === 'foreign') {
        foreign.push(r.frame);
        continue;
      }
      const topicBytes = Buffer.byteLength(r.topic, 'utf8');
      // A record from before `at` existed is as old as this open, as far as we can tell (queue-log-format.ts).
      this.#window.insert(r.seq, r.at ?? this.#o.clock.now(), r.topic, r.payload, r.retain, r.correlationData, putFrameBytes(topicBytes, r.payload.length, r.correlationData?.length), topicBytes + r.payload.length);
    }
    if (foreign.length > 0) {
      // Kept removals stay in the file ahead of our records: our numbers start past theirs too, so no reader, in
      // whatever order it applies removals, can take one of ours for one of them.
      for (const seq of unmatchedRemoves) if (seq > this.#lastSeq) this.#lastSeq = seq;
      this.#kept = [...foreign, ...removeFrames(unmatchedRemoves)];
      this.#keptBytes = this.#kept.reduce((n, f) => n + f.length, 0);
      this.#newerRecords = foreign.length;
      this.#o.log?.warn('outbound queue: records of a newer version found (a rollback?); kept as they are for it, not sent by this one', { file: this.file, records: foreign.length });
    }
    this.#stats.discardedTailBytes = data.length - goodBytes;
    this.#window.counts.coalesced = 0; // replay's coalescing happened in an earlier run, where it was counted
    if (goodBytes < data.length) this.#o.log?.warn('outbound queue: cut off a torn or garbled tail', { file: this.file, bytes: data.length - goodBytes, kept: this.#window.size });
    try {
      this.#appender.use(await openForAppend(this.file, goodBytes, data.length));
    } catch (err) {
      if (!isReadOnly(err, this.#o.dir)) throw queueIoError(`cannot open ${this.file} for appending`, err);
      // A read-only home: the file stays as it is (nothing cut, nothing lost) and the queue works in memory.
      this.#appender.error = `${this.file} is read-only: ${(err as Error).message}`;
      this.#o.log?.error('outbound queue: read-only, keeping messages in memory only', { file: this.file, error: this.#appender.error });
    }
    this.#fileBytes = goodBytes;
    this.#expire(0, true);
    // Limits may have shrunk since the last run.
    const dropped = this.#window.enforceBounds();
    if (dropped.length > 0) this.#append(encodeRemove(dropped));
    this.#maybeCompact();
  }

  /** Drops messages >= ttlMs old above `afterSeq`: from the head to the first young one, or all with `all`. */
  #expire(afterSeq: number, all: boolean): void {
    if (this.#o.ttlMs === Infinity) return;
    const gone = this.#window.expire(afterSeq, all, this.#o.clock.now() - this.#o.ttlMs);
    if (gone.length === 0) return;
    // Also when compacting (the snapshot omits them): a PUT of theirs may still be pending or held for the new file.
    this.#append(encodeRemove(gone));
  }

  /** Counts the frame into the file and leaves it for the run's flush. */
  #append(frame: Buffer): void {
    this.#fileBytes += frame.length;
    this.#pending.push(frame);
    this.#queueFlush();
  }

  #maybeCompact(): void {
    if (this.#compaction !== undefined || this.#closed) return;
    const failing = this.#appender.error !== undefined;
    if (failing ? !this.#rewriteDue() : !compactionDue(this.#fileBytes, this.#window.liveFrameBytes + this.#keptBytes, this.#o.compactMinBytes)) return;
    this.#compaction = this.#compact()
      .catch((err: unknown) => {
        if (!failing) this.#o.log?.warn('outbound queue: compaction failed, appending to the old file', { error: (err as Error).message });
        this.#appender.write(this.#heldDuringCompaction.splice(0));
      })
      .finally(() => {
        this.#compaction = undefined;
      });
  }

  /** While appends are stopped: true once every REWRITE_RETRY_MS, the first time one interval after the error. */
  #rewriteDue(): boolean {
    const now = this.#o.clock.now();
    if (this.#rewriteAfter === 0) this.#rewriteAfter = now + REWRITE_RETRY_MS;
    if (now < this.#rewriteAfter) return false;
    this.#rewriteAfter = now + REWRITE_RETRY_MS;
    return true;
  }

  /**
   * Rewrites the live records, expired ones dropped, into a new file swapped in atomically (queue-log-file.ts); a
   * newer version's records and removals go first, as they were.
   */
  async #compact(): Promise<void> {
    this.#expire(0, true);
    const own = encodeSnapshot(this.#window.values(), this.#window.liveFrameBytes);
    const snapshot = this.#kept.length === 0 ? own : Buffer.concat([...this.#kept, own]);
    this.#appender.use(await replaceLog(this.file, snapshot));
    this.#rewriteAfter = 0;
    this.#stats.compactions++;
    // Records appended while the snapshot was written: they belong after it, in the new file.
    const held = this.#heldDuringCompaction.splice(0);
    this.#fileBytes = snapshot.length + held.reduce((n, b) => n + b.length, 0);
    this.#appender.write(held);
    this.#window.recountFrameBytes();
    if (!this.#closed) this.#appender.scheduleSync();
  }
}

/** REMOVE frames for `seqs`, MAX_ACKS_PER_FRAME numbers each: a frame (6 bytes a number) stays far below MAX_FRAME_BODY. */
function removeFrames(seqs: readonly number[]): Buffer[] {
  const frames: Buffer[] = [];
  for (let i = 0; i < seqs.length; i += MAX_ACKS_PER_FRAME) frames.push(encodeRemove(seqs.slice(i, i + MAX_ACKS_PER_FRAME)));
  return frames;
}
