/**
 * An in-memory file system that models what a power cut keeps, for testing DurableTextFile's write order.
 *
 * The model is the pessimistic reading of POSIX that ext4 and f2fs on an SD card are allowed to give:
 *  - a file's bytes are durable only after fsync(2) on that file;
 *  - directory changes (create, rename, link, unlink) are durable after fsync(2) on the directory; before that,
 *    the journal may have committed any prefix of them, in order (powerCut(prefix) picks which);
 *  - a crashed process stops issuing operations (crashAt(n) makes op n and every later op throw).
 * Everything happens in one directory, which is all the state DB uses.
 */
import path from 'node:path';
import type { DurableFileHandle, DurableFs } from '../durable-file.ts';

interface Inode {
  data: string;
  durable: string;
}

type DirOp = (entries: Map<string, Inode>) => void;

function errno(code: string, message: string): Error {
  return Object.assign(new Error(`${code}: ${message}`), { code });
}

export class PowerCutFs implements DurableFs {
  readonly dir: string;
  /** Bytes passed to writeFile: what the card would have been asked to store. */
  bytesWritten = 0;
  /** Every operation, for tests that count steps. */
  readonly ops: string[] = [];
  #entries = new Map<string, Inode>();
  #durableEntries = new Map<string, Inode>();
  #pending: DirOp[] = [];
  #crashAt = Infinity;
  #linkUnsupported = false;

  constructor(dir: string, seed?: { entries: Map<string, Inode> }) {
    this.dir = dir;
    if (seed !== undefined) {
      this.#entries = new Map(seed.entries);
      this.#durableEntries = new Map(seed.entries);
    }
  }

  /** Operation number n (0-based, counted from now) and every later one throw EIO, as if the process died. */
  crashAt(n: number): void {
    this.#crashAt = this.ops.length + n;
  }

  /** Behave like FAT: link(2) fails with EPERM. */
  withoutHardLinks(): this {
    this.#linkUnsupported = true;
    return this;
  }

  /** Directory changes not yet made durable by a directory fsync. */
  get pendingDirOps(): number {
    return this.#pending.length;
  }

  /**
   * The file system as it comes back after a power cut: durable directory entries plus the first `prefix` pending
   * changes (default: none), every file holding only its fsynced bytes.
   */
  powerCut(prefix = 0): PowerCutFs {
    const entries = new Map(this.#durableEntries);
    for (const op of this.#pending.slice(0, prefix)) op(entries);
    const inodes = new Map<Inode, Inode>();
    const survived = new Map<string, Inode>();
    for (const [name, inode] of entries) {
      let copy = inodes.get(inode);
      if (copy === undefined) {
        copy = { data: inode.durable, durable: inode.durable };
        inodes.set(inode, copy);
      }
      survived.set(name, copy);
    }
    const rebooted = new PowerCutFs(this.dir, { entries: survived });
    rebooted.#linkUnsupported = this.#linkUnsupported; // the same file system comes back
    return rebooted;
  }

  /** The current (cached) text of a file, or undefined. */
  peek(file: string): string | undefined {
    return this.#entries.get(this.#name(file))?.data;
  }

  names(): string[] {
    return [...this.#entries.keys()].sort();
  }

  async readFile(file: string): Promise<string> {
    this.#step(`readFile ${path.basename(file)}`);
    const inode = this.#entries.get(this.#name(file));
    if (inode === undefined) throw errno('ENOENT', file);
    return inode.data;
  }

  async open(file: string, flags: 'w' | 'r'): Promise<DurableFileHandle> {
    this.#step(`open ${path.basename(file)} ${flags}`);
    if (file === this.dir) {
      return {
        writeFile: async () => {
          throw errno('EISDIR', file);
        },
        sync: async () => {
          this.#step('fsync dir');
          this.#durableEntries = new Map(this.#entries);
          this.#pending = [];
        },
        close: async () => undefined,
      };
    }
    const name = this.#name(file);
    let inode = this.#entries.get(name);
    if (inode === undefined) {
      if (flags === 'r') throw errno('ENOENT', file);
      const created: Inode = { data: '', durable: '' };
      inode = created;
      this.#dirOp((e) => e.set(name, created));
    } else if (flags === 'w') {
      inode.data = ''; // O_TRUNC: the same inode, emptied (durable only after fsync)
    }
    const target = inode;
    return {
      writeFile: async (data: string) => {
        this.#step(`write ${path.basename(file)}`);
        target.data = data;
        this.bytesWritten += Buffer.byteLength(data, 'utf8');
      },
      sync: async () => {
        this.#step(`fsync ${path.basename(file)}`);
        target.durable = target.data;
      },
      close: async () => undefined,
    };
  }

  async rename(from: string, to: string): Promise<void> {
    this.#step(`rename ${path.basename(from)} ${path.basename(to)}`);
    const a = this.#name(from);
    const b = this.#name(to);
    if (!this.#entries.has(a)) throw errno('ENOENT', from);
    this.#dirOp((e) => {
      const inode = e.get(a);
      if (inode === undefined) return;
      e.delete(a);
      e.set(b, inode);
    });
  }

  async link(existing: string, newPath: string): Promise<void> {
    this.#step(`link ${path.basename(existing)} ${path.basename(newPath)}`);
    if (this.#linkUnsupported) throw errno('EPERM', 'no hard links on this file system');
    const a = this.#name(existing);
    const b = this.#name(newPath);
    if (!this.#entries.has(a)) throw errno('ENOENT', existing);
    if (this.#entries.has(b)) throw errno('EEXIST', newPath);
    this.#dirOp((e) => {
      const inode = e.get(a);
      if (inode !== undefined) e.set(b, inode);
    });
  }

  async unlink(file: string): Promise<void> {
    this.#step(`unlink ${path.basename(file)}`);
    const name = this.#name(file);
    if (!this.#entries.has(name)) throw errno('ENOENT', file);
    this.#dirOp((e) => void e.delete(name));
  }

  #dirOp(op: DirOp): void {
    op(this.#entries);
    this.#pending.push(op);
  }

  #step(op: string): void {
    if (this.ops.length >= this.#crashAt) {
      this.ops.push(`${op} (crashed)`);
      throw errno('EIO', `process crashed before ${op}`);
    }
    this.ops.push(op);
  }

  #name(file: string): string {
    if (path.dirname(file) !== this.dir) throw new Error(`PowerCutFs models one directory (${this.dir}), not ${file}`);
    return path.basename(file);
  }
}
