/**
 * The persisted, bounded outbound queue of the MQTT link (DESIGN §4 "MQTT link"): QoS 1 messages are stored here
 * first, sent in order while connected, and removed when the broker's PUBACK arrives. It survives a daemon
 * restart and a power cut.
 *
 * Storage — an append-only log (format in queue-log-format.ts), NOT lowdb: lowdb rewrites its whole file on each
 * write, so 10,000 queued messages would cost 10,000 rewrites of a growing file (see scripts/bench/mqtt-bench.ts).
 *   - Group commit: push() encodes a PUT frame and an overflow drop a REMOVE frame; all frames of one synchronous
 *     run of JavaScript (a burst of publishes) are written by ONE write(2) on a microtask — before any timer, I/O
 *     callback or network send of the daemon runs, the link's pump included — instead of one write(2) each (the
 *     write(2) costs more than the rest of a push). A process that ends before that microtask (an uncaught
 *     exception, process.exit()) still writes them: a 'process.on("exit")' hook flushes every open queue
 *     synchronously. Only a kill that lands inside that same synchronous run (SIGKILL, the OOM killer) can lose
 *     what it pushed — as it could a moment earlier, while push() itself ran.
 *   - Acks are lazier still: ack() only notes the sequence number; the noted ones go out as one REMOVE frame with
 *     the next write, or at the latest `fsyncIntervalMs` later (at once with `fsyncIntervalMs: 0`), or when
 *     MAX_LAZY_ACKS are waiting, or at close. An ack lost in a crash only means the message is sent once more after
 *     the restart, which at-least-once delivery allows — and a power cut could already lose that much of the
 *     file, which is fsynced no more often.
 *   - fsync is batched: at most one fdatasync every `fsyncIntervalMs` (default 1000 ms) after a write, plus one at
 *     close. A power cut therefore loses at most the last interval's messages; the torn last frame it may leave is
 *     detected (length + CRC) and cut off at the next open. `fsyncIntervalMs: 0` syncs after every write.
 *   - Compaction: when the file is at least `compactMinBytes` and at least half of it is dead (removed records),
 *     the live records are written to `<file>.tmp`, fsynced, renamed over the file, and the directory fsynced.
 *     Records pushed while a compaction runs are held in memory and appended to the new file after the rename.
 *
 * Order: messages leave in push order, with one exception — coalescing. A message on a coalesced topic (the link
 * passes `state` and `state/...`) replaces the queued message on the same topic, and the new value takes the
 * position of its own push (the END of the queue), not the old one's: a snapshot is never sent before events
 * that were pushed before it. Replaying the log applies the same rule, so coalescing writes no extra record.
 *
 * Bounds and overflow ('drop-oldest'): when a push takes the queue over `maxMessages` or `maxBytes` (topic +
 * payload bytes), the oldest message that is NOT a retained state snapshot is dropped, repeatedly, until it fits;
 * only when nothing else is left are retained state snapshots dropped, oldest first. Snapshots are kept because
 * they are few (one per state topic, coalesced) and they are what a dashboard shows after the link comes back.
 * Every drop is counted in stats().dropped and written as a REMOVE record.
 *
 * I/O errors (disk full, read-only card): the queue keeps working in memory, stats().persistError says why, and
 * appends stop (so a half-written frame stays the file's tail, which the reader tolerates). close() then tries to
 * rewrite the whole file once more.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import type { Clock } from '../clock.ts';
import { systemClock } from '../clock.ts';
import { OpenStarryError } from '../errors.ts';
import type { Logger } from '../logging/logger.ts';
import { LinkErrorCode } from './errors.ts';
import { decodeLog, encodePutInto, encodeRemove, putFrameBytes } from './queue-log-format.ts';
import { syncDir } from '../state/durable-file.ts';
import { flushOnExit, writeAll } from './log-writes.ts';

export interface QueuedMessage {
  readonly seq: number;
  readonly topic: string;
  readonly payload: Buffer;
  readonly retain: boolean;
  readonly correlationData?: Buffer;
}

export interface OutboundQueueStats {
  queued: number;
  /** Topic + payload bytes of the queued messages (what `maxBytes` bounds). */
  bytes: number;
  /** Messages dropped by the overflow policy since open. */
  dropped: number;
  /** Queued messages replaced by a newer value on the same state topic since open. */
  coalesced: number;
  /** Size of the log file (live + removed records not yet compacted away). */
  fileBytes: number;
  compactions: number;
  /** Bytes of a torn or garbled tail cut off when the log was opened. */
  discardedTailBytes: number;
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
  clock?: Clock;
  log?: Logger;
}

interface Entry extends QueuedMessage {
  readonly size: number;
  readonly frameBytes: number;
  readonly protectedState: boolean;
}

export const QUEUE_FILE = 'outbound.log';
const MAX_ACKS_PER_FRAME = 65_536;
/** Acks noted before they are written regardless of the timer (one REMOVE frame of 24 KiB). */
const MAX_LAZY_ACKS = 4096;

export class OutboundQueue {
  readonly file: string;
  readonly #o: Required<Omit<OutboundQueueOptions, 'log'>> & { log: Logger | undefined };
  readonly #entries = new Map<number, Entry>();
  /** Coalesced topic -> seq of its queued message. */
  readonly #byTopic = new Map<string, number>();
  #lastSeq = 0;
  #bytes = 0;
  #liveFrameBytes = 0;
  #fileBytes = 0;
  #fd: number | undefined;
  #syncTimer: unknown;
  #compaction: Promise<void> | undefined;
  #heldDuringCompaction: Buffer[] = [];
  /** Frames of this run not written yet, and acked sequence numbers not yet in a REMOVE frame (group commit). */
  #pending: Buffer[] = [];
  #acked: number[] = [];
  #flushQueued = false;
  #ackTimer: unknown;
  #closed = false;
  readonly #stats = { dropped: 0, coalesced: 0, compactions: 0, discardedTailBytes: 0 };
  #persistError: string | undefined;

  private constructor(options: OutboundQueueOptions) {
    this.#o = {
      dir: path.resolve(options.dir),
      maxMessages: options.maxMessages ?? 10_000,
      maxBytes: options.maxBytes ?? 16 * 2 ** 20,
      overflow: options.overflow ?? 'drop-oldest',
      coalesce: options.coalesce ?? (() => false),
      fsyncIntervalMs: options.fsyncIntervalMs ?? 1000,
      compactMinBytes: options.compactMinBytes ?? 256 * 1024,
      clock: options.clock ?? systemClock,
      log: options.log,
    };
    this.file = path.join(this.#o.dir, QUEUE_FILE);
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
    return this.#entries.size;
  }

  stats(): OutboundQueueStats {
    const s: OutboundQueueStats = { queued: this.#entries.size, bytes: this.#bytes, fileBytes: this.#fileBytes, ...this.#stats };
    if (this.#persistError !== undefined) s.persistError = this.#persistError;
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
    const entry = this.#insert(++this.#lastSeq, topic, payload, options.retain === true, options.correlationData, frameBytes, size);
    const frame = Buffer.allocUnsafe(frameBytes);
    encodePutInto(entry, frame, 0);
    this.#append(frame);
    const dropped = this.#enforceBounds();
    if (dropped.length > 0) this.#append(encodeRemove(dropped));
    return entry;
  }

  /**
   * Up to `limit` queued messages with a sequence number above `afterSeq`, in queue order. Cheap when the
   * messages at or below `afterSeq` are few (the link's in-flight window).
   */
  peekAfter(afterSeq: number, limit: number): QueuedMessage[] {
    const out: QueuedMessage[] = [];
    if (limit <= 0) return out;
    for (const e of this.#entries.values()) {
      if (e.seq <= afterSeq) continue;
      out.push(e);
      if (out.length >= limit) break;
    }
    return out;
  }

  /** Removes a message (PUBACK received). False if it is no longer queued (coalesced, dropped, acked). */
  ack(seq: number): boolean {
    if (this.#closed || !this.#remove(seq)) return false;
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
      const seqs = this.#acked;
      this.#acked = [];
      // MAX_ACKS_PER_FRAME keeps a frame (6 bytes a number) far below MAX_FRAME_BODY.
      for (let i = 0; i < seqs.length; i += MAX_ACKS_PER_FRAME) {
        const frame = encodeRemove(seqs.slice(i, i + MAX_ACKS_PER_FRAME));
        this.#fileBytes += frame.length;
        this.#pending.push(frame);
      }
    }
    if (this.#pending.length === 0) return;
    const frames = this.#pending;
    this.#pending = [];
    if (this.#compaction !== undefined) this.#heldDuringCompaction.push(...frames);
    else this.#write(frames);
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
    if (this.#persistError !== undefined) {
      // Appends stopped at the error: one full rewrite brings the file back in line with memory, if the disk lets us.
      await this.#compact().catch(() => undefined);
    }
    if (this.#syncTimer !== undefined) this.#o.clock.clearTimeout(this.#syncTimer);
    this.#syncTimer = undefined;
    const fd = this.#fd;
    this.#fd = undefined;
    if (fd !== undefined) {
      try {
        fs.fdatasyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    }
  }

  async #load(): Promise<void> {
    await fsp.mkdir(this.#o.dir, { recursive: true });
    await fsp.rm(`${this.file}.tmp`, { force: true }); // a compaction that did not reach its rename
    let data: Buffer;
    try {
      data = await fsp.readFile(this.file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError(`cannot read ${this.file}`, err);
      data = Buffer.alloc(0);
    }
    const { records, goodBytes } = decodeLog(data);
    for (const r of records) {
      if (r.kind === 'remove') {
        for (const s of r.seqs) this.#remove(s);
        continue;
      }
      this.#lastSeq = Math.max(this.#lastSeq, r.seq);
      const topicBytes = Buffer.byteLength(r.topic, 'utf8');
      this.#insert(r.seq, r.topic, r.payload, r.retain, r.correlationData, putFrameBytes(topicBytes, r.payload.length, r.correlationData?.length), topicBytes + r.payload.length);
    }
    this.#stats.discardedTailBytes = data.length - goodBytes;
    this.#stats.coalesced = 0; // replay's coalescing happened in an earlier run, where it was counted
    try {
      if (goodBytes < data.length) {
        this.#o.log?.warn('outbound queue: cut off a torn or garbled tail', { file: this.file, bytes: data.length - goodBytes, kept: this.#entries.size });
        await fsp.truncate(this.file, goodBytes);
      }
      this.#fd = fs.openSync(this.file, 'a');
      if (goodBytes < data.length) fs.fdatasyncSync(this.#fd);
    } catch (err) {
      throw ioError(`cannot open ${this.file} for appending`, err);
    }
    this.#fileBytes = goodBytes;
    // Limits may have shrunk since the last run.
    const dropped = this.#enforceBounds();
    if (dropped.length > 0) this.#append(encodeRemove(dropped));
    this.#maybeCompact();
  }

  #insert(seq: number, topic: string, payload: Buffer, retain: boolean, correlationData: Buffer | undefined, frameBytes: number, size: number): Entry {
    const coalesced = this.#o.coalesce(topic);
    if (coalesced) {
      const previous = this.#byTopic.get(topic);
      if (previous !== undefined && this.#remove(previous)) this.#stats.coalesced++;
      this.#byTopic.set(topic, seq);
    }
    const entry: Entry = correlationData
      ? { seq, topic, payload, retain, size, frameBytes, protectedState: coalesced && retain, correlationData }
      : { seq, topic, payload, retain, size, frameBytes, protectedState: coalesced && retain };
    this.#entries.set(seq, entry);
    this.#bytes += entry.size;
    this.#liveFrameBytes += frameBytes;
    return entry;
  }

  #remove(seq: number): boolean {
    const e = this.#entries.get(seq);
    if (e === undefined) return false;
    this.#entries.delete(seq);
    this.#bytes -= e.size;
    this.#liveFrameBytes -= e.frameBytes;
    if (this.#byTopic.get(e.topic) === seq) this.#byTopic.delete(e.topic);
    return true;
  }

  /** The overflow policy (see the file comment); returns the dropped sequence numbers. */
  #enforceBounds(): number[] {
    const dropped: number[] = [];
    while (this.#entries.size > this.#o.maxMessages || this.#bytes > this.#o.maxBytes) {
      let victim: Entry | undefined;
      for (const e of this.#entries.values()) {
        if (!e.protectedState) {
          victim = e;
          break;
        }
      }
      victim ??= this.#entries.values().next().value;
      if (victim === undefined) break;
      this.#remove(victim.seq);
      this.#stats.dropped++;
      dropped.push(victim.seq);
    }
    return dropped;
  }

  /** Counts the frame into the file and leaves it for the run's flush. */
  #append(frame: Buffer): void {
    this.#fileBytes += frame.length;
    this.#pending.push(frame);
    this.#queueFlush();
  }

  #write(frames: Buffer[]): void {
    if (this.#persistError !== undefined || this.#fd === undefined || frames.length === 0) return;
    try {
      writeAll(this.#fd, frames);
      if (this.#o.fsyncIntervalMs === 0) fs.fdatasyncSync(this.#fd);
      else this.#scheduleSync();
    } catch (err) {
      this.#persistError = `${(err as Error).message}`;
      this.#o.log?.error('outbound queue: cannot write, keeping messages in memory only', { file: this.file, error: this.#persistError });
    }
  }

  #scheduleSync(): void {
    if (this.#syncTimer !== undefined || this.#closed) return;
    this.#syncTimer = this.#o.clock.setTimeout(() => {
      this.#syncTimer = undefined;
      const fd = this.#fd;
      if (fd === undefined) return;
      fs.fdatasync(fd, (err) => {
        if (err && this.#persistError === undefined && this.#fd === fd) this.#o.log?.warn('outbound queue: fdatasync failed', { error: err.message });
      });
    }, this.#o.fsyncIntervalMs);
  }

  #maybeCompact(): void {
    if (this.#compaction !== undefined || this.#closed || this.#persistError !== undefined) return;
    if (this.#fileBytes < this.#o.compactMinBytes || this.#fileBytes - this.#liveFrameBytes < this.#fileBytes / 2) return;
    this.#compaction = this.#compact()
      .catch((err: unknown) => {
        this.#o.log?.warn('outbound queue: compaction failed, appending to the old file', { error: (err as Error).message });
        this.#write(this.#heldDuringCompaction.splice(0));
      })
      .finally(() => {
        this.#compaction = undefined;
      });
  }

  /** Rewrites the live records into a new file and swaps it in atomically (see the file comment). */
  async #compact(): Promise<void> {
    const tmp = `${this.file}.tmp`;
    // One buffer for the snapshot, each record encoded in place (frameBytes is its exact size).
    const data = Buffer.allocUnsafe(this.#liveFrameBytes);
    let at = 0;
    for (const e of this.#entries.values()) at = encodePutInto(e, data, at);
    const snapshot = data.subarray(0, at);
    const handle = await fsp.open(tmp, 'w');
    try {
      await handle.writeFile(snapshot);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await fsp.rename(tmp, this.file);
    // Best effort, as before: a directory that cannot be fsynced does not fail a compaction.
    await syncDir(this.#o.dir).catch(() => undefined);
    const fd = fs.openSync(this.file, 'a');
    const old = this.#fd;
    this.#fd = fd;
    this.#persistError = undefined;
    if (old !== undefined) fs.closeSync(old);
    this.#stats.compactions++;
    // Records appended while the snapshot was written: they belong after it, in the new file.
    const held = this.#heldDuringCompaction.splice(0);
    this.#fileBytes = snapshot.length + held.reduce((n, b) => n + b.length, 0);
    this.#write(held);
    this.#liveFrameBytes = [...this.#entries.values()].reduce((n, e) => n + e.frameBytes, 0);
    if (this.#closed) return;
    this.#scheduleSync();
  }
}

function ioError(message: string, cause: unknown): OpenStarryError {
  return new OpenStarryError(LinkErrorCode.QUEUE_IO, `${message}: ${(cause as Error).message}`, { cause });
}
