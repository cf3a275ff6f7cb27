/**
 * The file operations of the outbound queue's log (outbound-queue.ts; format in queue-log-format.ts).
 *
 * Opening: a `.tmp` left by a compaction that did not reach its rename is removed, the log read whole, and a torn
 * or garbled tail (a power cut during an append) cut off and fsynced before anything is appended after it. On a
 * read-only file system (an SD card the kernel remounted read-only) nothing is removed or cut: the queue reads
 * what is there and keeps working in memory.
 *
 * Compaction: when the file is at least `compactMinBytes` and at
 * least half of it is dead (removed records), the live records are written to `<file>.tmp`, fsynced, renamed over
 * the file, and the directory fsynced — so a power cut leaves either the old file or the new one, never a mix.
 * Records pushed while a compaction runs are held in memory by the queue and appended to the new file after the
 * rename.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import { syncDir } from '../durable-file.ts';
import { OpenStarryError } from '../errors.ts';
import { LinkErrorCode } from './errors.ts';
import { encodePutInto } from './queue-log-format.ts';
import type { PutRecord } from './queue-log-format.ts';

/** Whether the log is worth rewriting: big enough, and at least half of it removed records. */
export function compactionDue(fileBytes: number, liveFrameBytes: number, minBytes: number): boolean {
  return fileBytes >= minBytes && fileBytes - liveFrameBytes >= fileBytes / 2;
}

/** The live records as one buffer, each encoded in place (`liveFrameBytes` is their exact total). */
export function encodeSnapshot(entries: Iterable<Omit<PutRecord, 'kind'>>, liveFrameBytes: number): Buffer {
  const data = Buffer.allocUnsafe(liveFrameBytes);
  let at = 0;
  for (const e of entries) at = encodePutInto(e, data, at);
  return data.subarray(0, at);
}

/** Swaps `snapshot` in for `file` atomically (see above); returns a descriptor open for appending to the new file. */
export async function replaceLog(file: string, snapshot: Buffer): Promise<number> {
  const tmp = `${file}.tmp`;
  const handle = await fsp.open(tmp, 'w');
  try {
    await handle.writeFile(snapshot);
    await handle.datasync();
  } catch (err) {
    await fsp.rm(tmp, { force: true }).catch(() => undefined); // a disk that filled up keeps no partial copy
    throw err;
  } finally {
    await handle.close();
  }
  await fsp.rename(tmp, file);
  // Best effort, as before: a directory that cannot be fsynced does not fail a compaction.
  await syncDir(path.dirname(file)).catch(() => undefined);
  return fs.openSync(file, 'a');
}

/** Creates the directory, removes a leftover `.tmp`, and reads the log (empty when there is none). */
export async function readLog(file: string): Promise<Buffer> {
  const dir = path.dirname(file);
  // Read-only: a missing folder reads as an empty queue, a leftover `.tmp` stays (removed at a writable open).
  const unlessReadOnly = (err: unknown) => {
    if (!isReadOnly(err, dir)) throw err;
  };
  await fsp.mkdir(dir, { recursive: true }).catch(unlessReadOnly);
  await fsp.rm(`${file}.tmp`, { force: true }).catch(unlessReadOnly);
  try {
    return await fsp.readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw queueIoError(`cannot read ${file}`, err);
    return Buffer.alloc(0);
  }
}

/** Opens the log for appending after cutting it to `goodBytes` (of `length`): the cut is fsynced first. */
export async function openForAppend(file: string, goodBytes: number, length: number): Promise<number> {
  if (goodBytes < length) await fsp.truncate(file, goodBytes);
  const fd = fs.openSync(file, 'a');
  if (goodBytes < length) fs.fdatasyncSync(fd);
  return fd;
}

/**
 * Whether `err` comes from a read-only file system under `dir` (a card the kernel remounted read-only, a read-only
 * bind mount): EROFS itself, or another failure (ENOENT for a folder that could not be created) where the nearest
 * existing folder refuses writes with EROFS (access(2) W_OK).
 */
export function isReadOnly(err: unknown, dir: string): boolean {
  if ((err as NodeJS.ErrnoException | undefined)?.code === 'EROFS') return true;
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    try {
      fs.accessSync(d, fs.constants.W_OK);
      return false;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' || path.dirname(d) === d) return code === 'EROFS';
    }
  }
}

export function queueIoError(message: string, cause: unknown): OpenStarryError {
  return new OpenStarryError(LinkErrorCode.QUEUE_IO, `${message}: ${(cause as Error).message}`, { cause });
}
