/**
 * What a shipped binary needs from the system, read with readelf(1) (it reads any architecture's ELF, unlike the
 * host's objdump): its machine, the shared libraries it links (DT_NEEDED) and the symbol versions it requires
 * of each (.gnu.version_r) — the input of the package's Depends: line (depends.ts).
 */
import { open } from 'node:fs/promises';
import { run } from './run.ts';

export interface ElfInfo {
  /** readelf's Machine: text, e.g. `AArch64`. */
  readonly machine: string;
  /** `EXEC`, `DYN`... */
  readonly type: string;
  readonly needed: readonly string[];
  /** Required symbol versions by library file: `libc.so.6` -> [`GLIBC_2.17`, ...]. */
  readonly versionNeeds: Readonly<Record<string, readonly string[]>>;
  /** No .symtab left (debugging symbols removed). */
  readonly stripped: boolean;
}

export function parseReadelf(text: string): ElfInfo {
  const machine = /^\s*Machine:\s+(.+?)\s*$/m.exec(text)?.[1] ?? 'unknown';
  const type = /^\s*Type:\s+(\S+)/m.exec(text)?.[1] ?? 'unknown';
  const needed = [...text.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]!);
  const versionNeeds: Record<string, string[]> = {};
  let file: string | undefined;
  for (const line of text.split('\n')) {
    const f = /\bFile: (\S+)\s+Cnt:/.exec(line);
    if (f) {
      file = f[1]!;
      versionNeeds[file] ??= [];
      continue;
    }
    const n = /^\s*0x[0-9a-f]+:\s+Name: (\S+)\s+Flags:/.exec(line);
    if (n && file !== undefined) versionNeeds[file]!.push(n[1]!);
  }
  const stripped = !/\]\s+\.symtab\s/.test(text);
  return { machine, type, needed, versionNeeds, stripped };
}

export async function readElf(file: string): Promise<ElfInfo> {
  return parseReadelf(await run('readelf', ['--file-header', '--dynamic', '--version-info', '--section-headers', '--wide', file]));
}

/** True when the file starts with the ELF magic number. */
export async function isElf(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const magic = Buffer.alloc(4);
    const { bytesRead } = await handle.read(magic, 0, 4, 0);
    return bytesRead === 4 && magic.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
  } finally {
    await handle.close();
  }
}
