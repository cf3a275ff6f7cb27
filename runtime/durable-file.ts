/**
 * A text file that survives a power cut mid-write (docs/ARCHITECTURE.md "State DB": one JSON file, atomic writes), shaped
 * as a lowdb `Adapter<string>` so `new Low(new DurableTextFile(...), ...)` works. lowdb's own TextFile uses
 * steno, which writes a temp file and renames it but never fsyncs: after a power cut ext4 may keep the rename
 * and lose the data, leaving a zero-length or truncated state file — exactly the board we run on.
 *
 * One write, in this order (each step is what makes the next one safe):
 *   1. write `<file>.tmp` and fsync it          the new bytes are on the card before any name points at them
 *   2. if the current file is known good:        hard-link it as `<file>.bak.tmp`, rename that over `<file>.bak`
 *                                                (the backup is always present, and costs no data bytes)
 *   3. rename `<file>.tmp` over `<file>`          rename(2) is atomic: readers see the old or the new file
 *   4. fsync the directory                        makes the renames themselves durable (rename(2), fsync(2))
 * After a crash at any point the file holds either the old or the new content, and `.bak` a previous good one.
 *
 * Backup strategy, and why: the backup is the last version that was known to parse — a file this object wrote
 * itself (it was fsynced before its rename) or one the caller validated after reading (`markCurrentValid`). A
 * file that failed validation is never promoted to `.bak`, so recovering from the backup and then writing does
 * not destroy the only good copy. A hard link rather than a second copy, because the backup then costs one
 * metadata update per write instead of doubling the bytes written to an SD card; on a file system without hard
 * links (FAT on a USB stick) it falls back to copying the current file.
 */
import * as nodeFs from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, OpenStarryError } from './errors.ts';

/** An open file: the subset of node's FileHandle a durable write needs. */
export interface DurableFileHandle {
  writeFile(data: string, encoding: 'utf8'): Promise<void>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** The file system, injected (docs/ARCHITECTURE.md "Injection: clock, processes, file system") so tests can cut the power between steps and count bytes. */
export interface DurableFs {
  readFile(file: string, encoding: 'utf8'): Promise<string>;
  /** 'w' for the temp file, 'r' to open a directory for fsync. */
  open(file: string, flags: 'w' | 'r'): Promise<DurableFileHandle>;
  rename(from: string, to: string): Promise<void>;
  link(existing: string, newPath: string): Promise<void>;
  unlink(file: string): Promise<void>;
}

export const nodeDurableFs: DurableFs = nodeFs;

export interface DurableFileStats {
  /** Completed writes. */
  writes: number;
  /** Bytes handed to the file system (state file plus any copied backup); the SD-card wear figure. */
  bytesWritten: number;
  /** Writes that went ahead without refreshing `.bak` (the previous backup, still a good file, stays). */
  backupFailures: number;
}

/** Errors on a directory fsync that mean "this file system cannot", not "the disk failed" (see #syncDir). */
const DIR_SYNC_UNSUPPORTED = new Set(['EISDIR', 'EINVAL', 'EPERM', 'ENOTSUP', 'EOPNOTSUPP']);
/** link(2) failures that mean "no hard links here": fall back to copying. */
const LINK_UNSUPPORTED = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV', 'EMLINK']);

export class DurableTextFile {
  readonly file: string;
  readonly backupFile: string;
  readonly #fs: DurableFs;
  readonly #tmp: string;
  readonly #backupTmp: string;
  #currentValid: boolean;
  #queue: Promise<void> = Promise.resolve();
  readonly #stats: DurableFileStats = { writes: 0, bytesWritten: 0, backupFailures: 0 };

  constructor(file: string, options: { fs?: DurableFs } = {}) {
    this.file = path.resolve(file);
    this.backupFile = `${this.file}.bak`;
    // Same directory as the target: rename(2) is only atomic within one file system.
    this.#tmp = `${this.file}.tmp`;
    this.#backupTmp = `${this.file}.bak.tmp`;
    this.#fs = options.fs ?? nodeDurableFs;
    this.#currentValid = false;
  }

  get stats(): DurableFileStats {
    return { ...this.#stats };
  }

  /** lowdb Adapter#read: the file's text, or null when there is none. Other errors (EIO, EACCES) are thrown. */
  read(): Promise<string | null> {
    return this.#readOrNull(this.file);
  }

  /** The last-good backup's text, or null when there is none. */
  readBackup(): Promise<string | null> {
    return this.#readOrNull(this.backupFile);
  }

  /**
   * The caller's verdict on the current file after reading it: only a valid file becomes the next backup. A file
   * this object wrote is valid without asking.
   */
  markCurrentValid(valid: boolean): void {
    this.#currentValid = valid;
  }

  /** lowdb Adapter#write. Concurrent calls run one after another, in call order. */
  write(text: string): Promise<void> {
    const run = this.#queue.then(() => this.#write(text));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #write(text: string): Promise<void> {
    try {
      await this.#writeSynced(this.#tmp, text);
      // A failed backup does not block the write: `.bak` then still holds an older good version, and fresh
      // state on disk matters more than a fresher backup.
      if (this.#currentValid) await this.#backupCurrent().catch(() => void this.#stats.backupFailures++);
      await this.#fs.rename(this.#tmp, this.file);
      // From here the new content is what a reader sees; it is valid (we wrote it) and becomes the next backup.
      this.#currentValid = true;
      await this.#syncDir();
      this.#stats.writes++;
    } catch (err) {
      // A disk that filled up mid-write leaves a partial temp file: remove it, best effort (on a read-only home
      // there is none, its open already failed). The state file itself was never touched.
      await Promise.resolve().then(() => this.#fs.unlink(this.#tmp)).catch(() => undefined);
      throw new OpenStarryError(ErrorCode.STATE_IO, `cannot write ${this.file}: ${(err as Error).message}`, { cause: err });
    }
  }

  async #writeSynced(file: string, text: string): Promise<void> {
    await writeFileSynced(file, text, this.#fs);
    this.#stats.bytesWritten += Buffer.byteLength(text, 'utf8');
  }

  async #backupCurrent(): Promise<void> {
    // A stale .bak.tmp is what a crash between link and rename leaves behind; link(2) will not replace it.
    await ignoreCode(this.#fs.unlink(this.#backupTmp), 'ENOENT');
    try {
      await this.#fs.link(this.file, this.#backupTmp);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT') return; // no current file (deleted by hand): nothing to keep
      if (code === undefined || !LINK_UNSUPPORTED.has(code)) throw err;
      await this.#writeSynced(this.#backupTmp, await this.#fs.readFile(this.file, 'utf8'));
    }
    await this.#fs.rename(this.#backupTmp, this.backupFile);
  }

  #syncDir(): Promise<void> {
    return syncDir(path.dirname(this.file), this.#fs);
  }

  async #readOrNull(file: string): Promise<string | null> {
    try {
      return await this.#fs.readFile(file, 'utf8');
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return null;
      throw err;
    }
  }
}

function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

async function ignoreCode(op: Promise<void>, code: string): Promise<void> {
  try {
    await op;
  } catch (err) {
    if (errnoCode(err) !== code) throw err;
  }
}

/** Writes `text` to `file` (created or truncated) and fsyncs it before returning. */
export async function writeFileSynced(file: string, text: string, fs: DurableFs = nodeDurableFs): Promise<void> {
  const handle = await fs.open(file, 'w');
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * fsync(2) on a directory: without it renames can be lost at a power cut even though the data blocks are on the
 * card. Some file systems (and non-Linux platforms) refuse to open or fsync a directory; there the rename is as
 * durable as that file system makes it, which is the best available. Other errors (EIO) are thrown.
 */
export async function syncDir(dir: string, fs: DurableFs = nodeDurableFs): Promise<void> {
  let handle: DurableFileHandle;
  try {
    handle = await fs.open(dir, 'r');
  } catch (err) {
    if (DIR_SYNC_UNSUPPORTED.has(errnoCode(err) ?? '')) return;
    throw err;
  }
  try {
    await handle.sync();
  } catch (err) {
    if (!DIR_SYNC_UNSUPPORTED.has(errnoCode(err) ?? '')) throw err;
  } finally {
    await handle.close();
  }
}
