/**
 * The low-level pieces of the outbound queue's group commit (outbound-queue.ts, "Group commit"): writing a run's
 * frames with one writev(2) and batched fdatasync (LogAppender), and writing whatever is still pending when the
 * process exits before the flush microtask (an uncaught exception, process.exit()).
 */
import fs from 'node:fs';
import type { Clock } from '../clock.ts';
import type { Logger } from '../logging/logger.ts';

/** Linux's UIO_MAXIOV: writev(2) takes at most this many buffers at once. */
const IOV_MAX = 1024;

/** writev(2) of all frames, looping over short writes (a write(2) to a regular file may write less than asked). */
export function writeAll(fd: number, frames: Buffer[]): void {
  let rest = frames;
  while (rest.length > 0) {
    let written = fs.writevSync(fd, rest.length > IOV_MAX ? rest.slice(0, IOV_MAX) : rest);
    let i = 0;
    while (i < rest.length && written >= (rest[i] as Buffer).length) written -= (rest[i++] as Buffer).length;
    rest = rest.slice(i);
    if (written > 0) rest[0] = (rest[0] as Buffer).subarray(written);
  }
}

interface Flushable {
  flush(): void;
}

const pending = new Set<Flushable>();
let hooked = false;

/** Queues with frames not yet written: flushed synchronously by one process 'exit' hook, installed on first use. */
export const flushOnExit = {
  add(q: Flushable): void {
    pending.add(q);
    if (hooked) return;
    hooked = true;
    process.on('exit', () => {
      for (const each of [...pending]) each.flush();
    });
  },
  delete(q: Flushable): void {
    pending.delete(q);
  },
};

/**
 * The queue log's open descriptor: writes a run's frames, then fdatasync at once (`fsyncIntervalMs: 0`) or at most
 * once per interval (default 1000 ms) plus once at close — a power cut loses at most the last interval's messages,
 * and the torn last frame it may leave is detected (length + CRC) and cut off at the next open. At the first error (disk full, read-only card) it stops appending — so a half-written frame
 * stays the file's tail, which the reader tolerates — and `error` says why, until a compaction swaps in a new file.
 */
export class LogAppender {
  error: string | undefined;
  #fd: number | undefined;
  #syncTimer: unknown;

  constructor(private readonly o: { file: string; fsyncIntervalMs: number; clock: Clock; log: Logger | undefined }) {}

  write(frames: Buffer[]): void {
    if (this.error !== undefined || this.#fd === undefined || frames.length === 0) return;
    try {
      writeAll(this.#fd, frames);
      if (this.o.fsyncIntervalMs === 0) fs.fdatasyncSync(this.#fd);
      else this.scheduleSync();
    } catch (err) {
      this.error = (err as Error).message;
      this.o.log?.error('outbound queue: cannot write, keeping messages in memory only', { file: this.o.file, error: this.error });
    }
  }

  /** Appends to `fd` from now on (the log just opened, or a compaction's new file): the old one is closed. */
  use(fd: number): void {
    const old = this.#fd;
    this.#fd = fd;
    this.error = undefined;
    if (old !== undefined) fs.closeSync(old);
  }

  scheduleSync(): void {
    if (this.#syncTimer !== undefined || this.#fd === undefined) return;
    this.#syncTimer = this.o.clock.setTimeout(() => {
      this.#syncTimer = undefined;
      const fd = this.#fd;
      if (fd === undefined) return;
      fs.fdatasync(fd, (err) => {
        if (err && this.error === undefined && this.#fd === fd) this.o.log?.warn('outbound queue: fdatasync failed', { error: err.message });
      });
    }, this.o.fsyncIntervalMs);
  }

  /** A last fdatasync, then close. Idempotent. */
  close(): void {
    if (this.#syncTimer !== undefined) this.o.clock.clearTimeout(this.#syncTimer);
    this.#syncTimer = undefined;
    const fd = this.#fd;
    this.#fd = undefined;
    if (fd === undefined) return;
    try {
      fs.fdatasyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }
}
