/**
 * Strips binaries with the target architecture's binutils, with the options dh_strip(1) uses: debugging symbols
 * go, and the .comment/.note sections with them (Debian Policy §10.1: binaries are shipped stripped).
 */
import type { ArchSpec } from './arch.ts';
import { run } from './run.ts';

const DH_STRIP_SECTIONS = ['--remove-section=.comment', '--remove-section=.note'];

/** An executable (the Node runtime): `output` gets the stripped copy. */
export async function stripExecutable(arch: ArchSpec, input: string, output: string): Promise<void> {
  await run(`${arch.triplet}-strip`, [...DH_STRIP_SECTIONS, '-o', output, input]);
}

/** A shared object (a native addon's .node file), in place: only what dynamic linking needs stays. */
export async function stripSharedObject(arch: ArchSpec, file: string): Promise<void> {
  await run(`${arch.triplet}-strip`, [...DH_STRIP_SECTIONS, '--strip-unneeded', file]);
}
