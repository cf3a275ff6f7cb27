/**
 * The architectures the Debian package is built for, and what differs between them: the npm names of the
 * embedded Node runtime and of prebuilt binaries, the GNU toolchain that builds native addons for it, and the
 * oldest glibc symbol version of its ABI. armhf is not built: npm's newest armv7l Node is 20.11 (end of life),
 * and the package carries its own Node 22 (the team's layout, README "Layout").
 */

/** The pinned Node LTS every package embeds (`node-linux-<cpu>@NODE_VERSION` on npm: bin/node + include/node). */
export const NODE_VERSION = '22.23.5';

export type DebArch = 'arm64' | 'amd64';

export interface ArchSpec {
  /** Debian's name (dpkg --print-architecture), used in the .deb file name and Architecture: field. */
  readonly deb: DebArch;
  /** Node's and npm's name (process.arch, `npm ci --cpu=`), also node-gyp's --arch. */
  readonly npmCpu: 'arm64' | 'x64';
  /** GNU triplet: the toolchain is `<triplet>-gcc`, `<triplet>-g++`, `<triplet>-strip`. */
  readonly triplet: 'aarch64-linux-gnu' | 'x86_64-linux-gnu';
  /** What `readelf -h` prints as Machine: for this architecture. */
  readonly elfMachine: string;
}

export const ARCHES: Readonly<Record<DebArch, ArchSpec>> = {
  arm64: { deb: 'arm64', npmCpu: 'arm64', triplet: 'aarch64-linux-gnu', elfMachine: 'AArch64' },
  amd64: { deb: 'amd64', npmCpu: 'x64', triplet: 'x86_64-linux-gnu', elfMachine: 'Advanced Micro Devices X86-64' },
};

export function isDebArch(value: string): value is DebArch {
  return Object.hasOwn(ARCHES, value);
}

/** The npm package that carries this architecture's Node runtime. */
export function nodePackageName(arch: ArchSpec): string {
  return `node-linux-${arch.npmCpu}`;
}

/** The folder node-gyp-build looks in for this architecture's prebuilt addons (e.g. @serialport/bindings-cpp). */
export function prebuildFolder(arch: ArchSpec): string {
  return `linux-${arch.npmCpu}`;
}

/** Debian's architecture for the Node running this script (the build host). */
export function hostDebArch(nodeArch: string = process.arch): DebArch | undefined {
  if (nodeArch === 'arm64') return 'arm64';
  if (nodeArch === 'x64') return 'amd64';
  return undefined;
}
