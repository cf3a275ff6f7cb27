/**
 * The programs the packager runs, each with the Debian package that provides it, so a missing one stops the
 * build with one line saying what to install instead of a stack trace from deep inside node-gyp.
 */
import { hasTool } from '../testing/system-deps.ts';
import type { ArchSpec, DebArch } from './arch.ts';

export interface Tool {
  readonly command: string;
  readonly aptPackage: string;
  /** Why the packager needs it (said in the error). */
  readonly why: string;
}

/** Debian names a cross toolchain package by the triplet with `_` spelled `-` (g++-x86-64-linux-gnu). */
const debianTriplet = (arch: ArchSpec) => arch.triplet.replaceAll('_', '-');

export function requiredTools(arches: readonly ArchSpec[], host: DebArch | undefined): Tool[] {
  const tools: Tool[] = [
    { command: 'npm', aptPackage: 'npm', why: 'fetches the embedded Node runtime and the target architecture modules' },
    { command: 'dpkg-deb', aptPackage: 'dpkg', why: 'builds the .deb' },
    { command: 'readelf', aptPackage: 'binutils', why: 'reads the libraries the binaries link for Depends:' },
    { command: 'make', aptPackage: 'make', why: 'node-gyp builds native addons with make' },
    { command: 'python3', aptPackage: 'python3', why: 'node-gyp runs gyp with python3' },
  ];
  for (const arch of arches) {
    // The build host's own compiler carries its triplet name too (x86_64-linux-gnu-g++ is in Debian's g++).
    const native = arch.deb === host;
    tools.push(
      { command: `${arch.triplet}-gcc`, aptPackage: native ? 'gcc' : `gcc-${debianTriplet(arch)}`, why: `compiles the ${arch.deb} native addons` },
      { command: `${arch.triplet}-g++`, aptPackage: native ? 'g++' : `g++-${debianTriplet(arch)}`, why: `compiles the ${arch.deb} native addons` },
      { command: `${arch.triplet}-strip`, aptPackage: `binutils-${debianTriplet(arch)}`, why: `strips the ${arch.deb} binaries` },
    );
  }
  return tools;
}

/** Throws one line naming the first missing program and its Debian package. */
export function checkTools(tools: readonly Tool[], has: (command: string) => boolean = hasTool): void {
  for (const tool of tools) {
    if (!has(tool.command)) throw new Error(`${tool.command} is missing (it ${tool.why}): apt-get install ${tool.aptPackage}`);
  }
}
