/**
 * The package's Depends: line from what its binaries link (elf.ts), the way dpkg-shlibdeps(1) derives it from
 * the libraries' symbols files — without needing the target architecture's libraries installed on the build
 * host. Each required symbol version maps to the first Debian package version that provides it; the tables
 * below are Debian 12's libstdc++6 and libgcc-s1 symbols files (glibc's versions are its own release numbers).
 * An unknown library or version is an error, so a new system dependency is never shipped unnoticed.
 */
import type { ElfInfo } from './elf.ts';

/** Shared library file -> the Debian package that provides it. */
const LIBRARY_PACKAGES: Readonly<Record<string, string>> = {
  'libc.so.6': 'libc6',
  'libm.so.6': 'libc6',
  'libdl.so.2': 'libc6',
  'libpthread.so.0': 'libc6',
  'librt.so.1': 'libc6',
  'ld-linux-aarch64.so.1': 'libc6',
  'ld-linux-x86-64.so.2': 'libc6',
  'libstdc++.so.6': 'libstdc++6',
  'libgcc_s.so.1': 'libgcc-s1',
};

/** libstdc++6.symbols (Debian 12): the version tag's first package version. */
const LIBSTDCXX: Readonly<Record<string, string>> = {
  'GLIBCXX_3.4': '4.1.1', 'GLIBCXX_3.4.1': '4.1.1', 'GLIBCXX_3.4.2': '4.1.1', 'GLIBCXX_3.4.3': '4.1.1', 'GLIBCXX_3.4.4': '4.1.1',
  'GLIBCXX_3.4.5': '4.1.1', 'GLIBCXX_3.4.6': '4.1.1', 'GLIBCXX_3.4.7': '4.1.1', 'GLIBCXX_3.4.8': '4.1.1', 'GLIBCXX_3.4.9': '4.2.1',
  'GLIBCXX_3.4.10': '4.3', 'GLIBCXX_3.4.11': '4.4', 'GLIBCXX_3.4.12': '4.4', 'GLIBCXX_3.4.13': '4.4.2', 'GLIBCXX_3.4.14': '4.5',
  'GLIBCXX_3.4.15': '4.6', 'GLIBCXX_3.4.16': '4.6', 'GLIBCXX_3.4.17': '4.7', 'GLIBCXX_3.4.18': '4.8', 'GLIBCXX_3.4.19': '4.8',
  'GLIBCXX_3.4.20': '4.9', 'GLIBCXX_3.4.21': '5.2', 'GLIBCXX_3.4.22': '6', 'GLIBCXX_3.4.23': '10.2', 'GLIBCXX_3.4.24': '7',
  'GLIBCXX_3.4.25': '8', 'GLIBCXX_3.4.26': '9', 'GLIBCXX_3.4.27': '9.1', 'GLIBCXX_3.4.28': '10.2', 'GLIBCXX_3.4.29': '11',
  'GLIBCXX_3.4.30': '12',
  'CXXABI_1.3': '4.1.1', 'CXXABI_1.3.1': '4.1.1', 'CXXABI_1.3.2': '4.3', 'CXXABI_1.3.3': '4.3', 'CXXABI_1.3.4': '4.3',
  'CXXABI_1.3.5': '4.3', 'CXXABI_1.3.6': '4.3', 'CXXABI_1.3.7': '4.3', 'CXXABI_1.3.8': '4.3', 'CXXABI_1.3.9': '5',
  'CXXABI_1.3.10': '6', 'CXXABI_1.3.11': '10.2', 'CXXABI_1.3.12': '9', 'CXXABI_1.3.13': '11',
};

/** libgcc-s1.symbols (Debian 12). */
const LIBGCC: Readonly<Record<string, string>> = {
  'GCC_3.0': '3.0', 'GCC_3.3': '3.3', 'GCC_3.3.1': '3.3.1', 'GCC_3.4': '3.4', 'GCC_3.4.2': '3.4.2', 'GCC_3.4.4': '3.4.4',
  'GCC_4.0.0': '4.0', 'GCC_4.2.0': '4.2', 'GCC_4.3.0': '4.3', 'GCC_4.7.0': '4.7', 'GCC_4.8.0': '4.8', 'GCC_7.0.0': '7',
  'GCC_12.0.0': '12',
};

/** Numeric comparison of dotted versions (`4.1.1` < `5.2` < `10.2`). */
export function compareDotted(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function minimumFor(pkg: string, tag: string, where: string): string | undefined {
  if (tag === 'GLIBC_PRIVATE') throw new Error(`${where}: requires GLIBC_PRIVATE (ties it to one exact glibc build)`);
  if (pkg === 'libc6') {
    const m = /^GLIBC_(\d+\.\d+(?:\.\d+)?)$/.exec(tag);
    if (!m) throw new Error(`${where}: unknown libc6 symbol version ${tag}`);
    return m[1];
  }
  const table = pkg === 'libstdc++6' ? LIBSTDCXX : LIBGCC;
  const min = table[tag];
  if (min === undefined) throw new Error(`${where}: unknown ${pkg} symbol version ${tag} (add it from Debian's ${pkg} symbols file to scripts/package/depends.ts)`);
  return min;
}

/** `libc6 (>= 2.28), libgcc-s1 (>= 3.0), libstdc++6 (>= 5.2)` for a set of binaries (file -> what it links). */
export function sharedLibraryDepends(binaries: Readonly<Record<string, ElfInfo>>): string[] {
  const floors = new Map<string, string | undefined>();
  for (const [file, elf] of Object.entries(binaries)) {
    for (const lib of elf.needed) {
      const pkg = LIBRARY_PACKAGES[lib];
      if (pkg === undefined) throw new Error(`${file}: links ${lib}, which scripts/package/depends.ts does not map to a Debian package`);
      if (!floors.has(pkg)) floors.set(pkg, undefined);
    }
    for (const [lib, tags] of Object.entries(elf.versionNeeds)) {
      const pkg = LIBRARY_PACKAGES[lib];
      if (pkg === undefined) throw new Error(`${file}: needs versions of ${lib}, which scripts/package/depends.ts does not map to a Debian package`);
      for (const tag of tags) {
        const min = minimumFor(pkg, tag, file);
        const current = floors.get(pkg);
        if (min !== undefined && (current === undefined || compareDotted(min, current) > 0)) floors.set(pkg, min);
      }
    }
  }
  return [...floors.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([pkg, min]) => (min === undefined ? pkg : `${pkg} (>= ${min})`));
}
