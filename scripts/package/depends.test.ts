// Depends: from readelf's view of the shipped binaries: the parser on readelf's real output shape, the version
// tables, and errors for what the tables do not know (a new library must not ship unnoticed).
import t from 'tap';
import { compareDotted, sharedLibraryDepends } from './depends.ts';
import type { ElfInfo } from './elf.ts';
import { parseReadelf } from './elf.ts';

// Trimmed `readelf --file-header --dynamic --version-info --section-headers --wide` of an arm64 addon.
const ADDON = `ELF Header:
  Type:                              DYN (Shared object file)
  Machine:                           AArch64
Section Headers:
  [Nr] Name              Type            Address          Off    Size   ES Flg Lk Inf Al
  [ 1] .note.gnu.build-id NOTE           0000000000000190 000190 000024 00   A  0   0  4
  [25] .symtab           SYMTAB          0000000000000000 010320 001380 18     26  94  8
Dynamic section at offset 0xfd60 contains 26 entries:
  Tag        Type                         Name/Value
 0x0000000000000001 (NEEDED)             Shared library: [libstdc++.so.6]
 0x0000000000000001 (NEEDED)             Shared library: [libc.so.6]
Version needs section '.gnu.version_r' contains 2 entries:
 Addr: 0x0000000000000de0  Offset: 0x000de0  Link: 4 (.dynstr)
  000000: Version: 1  File: libc.so.6  Cnt: 1
  0x0010:   Name: GLIBC_2.17  Flags: none  Version: 4
  0x0020: Version: 1  File: libstdc++.so.6  Cnt: 3
  0x0030:   Name: CXXABI_1.3.9  Flags: none  Version: 5
  0x0040:   Name: GLIBCXX_3.4  Flags: none  Version: 3
  0x0050:   Name: GLIBCXX_3.4.15  Flags: none  Version: 2
`;

const elf = (needed: string[], versionNeeds: Record<string, string[]>): ElfInfo => ({ machine: 'AArch64', type: 'DYN', needed, versionNeeds, stripped: true });

t.test('readelf output: machine, type, needed libraries, version needs, stripped or not', async (t) => {
  const info = parseReadelf(ADDON);
  t.same(info, {
    machine: 'AArch64',
    type: 'DYN',
    needed: ['libstdc++.so.6', 'libc.so.6'],
    versionNeeds: { 'libc.so.6': ['GLIBC_2.17'], 'libstdc++.so.6': ['CXXABI_1.3.9', 'GLIBCXX_3.4', 'GLIBCXX_3.4.15'] },
    stripped: false,
  });
  t.equal(parseReadelf(ADDON.replace(/^.*\.symtab.*$/m, '')).stripped, true);
});

t.test('dotted versions compare by number', async (t) => {
  t.ok(compareDotted('5.2', '10.2') < 0);
  t.ok(compareDotted('4.1.1', '4.1') > 0);
  t.equal(compareDotted('3.0', '3'), 0);
});

t.test('the floor of each library package is the highest version any binary needs', async (t) => {
  const node = elf(['libdl.so.2', 'libstdc++.so.6', 'libm.so.6', 'libgcc_s.so.1', 'libpthread.so.0', 'libc.so.6', 'ld-linux-aarch64.so.1'], {
    'libc.so.6': ['GLIBC_2.17', 'GLIBC_2.28', 'GLIBC_2.25'],
    'libstdc++.so.6': ['GLIBCXX_3.4.21', 'CXXABI_1.3.9', 'GLIBCXX_3.4.9'],
    'libgcc_s.so.1': ['GCC_3.0', 'GCC_4.2.0'],
  });
  const addon = parseReadelf(ADDON);
  t.same(sharedLibraryDepends({ node, addon }), ['libc6 (>= 2.28)', 'libgcc-s1 (>= 4.2)', 'libstdc++6 (>= 5.2)']);
  t.same(sharedLibraryDepends({ addon }), ['libc6 (>= 2.17)', 'libstdc++6 (>= 5)']);
  t.same(sharedLibraryDepends({ static: elf([], {}) }), [], 'a static binary (esbuild) adds nothing');
  t.same(sharedLibraryDepends({ x: elf(['libm.so.6'], {}) }), ['libc6'], 'no version needed: unversioned');
});

t.test('what the tables do not know is an error naming the file', async (t) => {
  t.throws(() => sharedLibraryDepends({ 'a.node': elf(['libssl.so.3'], {}) }), /a\.node: links libssl\.so\.3/);
  t.throws(() => sharedLibraryDepends({ 'a.node': elf(['libstdc++.so.6'], { 'libstdc++.so.6': ['GLIBCXX_3.4.99'] }) }), /a\.node: unknown libstdc\+\+6 symbol version GLIBCXX_3\.4\.99/);
  t.throws(() => sharedLibraryDepends({ 'a.node': elf(['libc.so.6'], { 'libc.so.6': ['GLIBC_PRIVATE'] }) }), /GLIBC_PRIVATE/);
});
