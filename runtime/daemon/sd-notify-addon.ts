/**
 * The sd_notify addon (native/sd-notify/sd_notify.c): sends an sd_notify(3) datagram from this process without
 * forking. Built for the host by `npm run build` and shipped by the package at the same path under the package
 * root. Loading it can fail (no compiler on a source checkout, a build for another architecture): the caller then
 * falls back to systemd-notify, so a failure here is an answer, never an exception.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { getSystemErrorMap } from 'node:util';
import { packageRoot } from './paths.ts';

/** What the C module exports: 0 on success, else a positive errno value. */
export interface SdNotifyAddon {
  send(socketPath: string, message: string): number;
}

/** Where the addon lives, relative to the package root (the packaging helper ships it at the same place). */
export const SD_NOTIFY_ADDON = path.join('native', 'sd-notify', 'build', 'Release', 'sd_notify.node');

export type AddonLoad = { addon: SdNotifyAddon; file: string } | { error: string; file: string };

export function loadSdNotifyAddon(root: string = packageRoot()): AddonLoad {
  const file = path.join(root, SD_NOTIFY_ADDON);
  try {
    const loaded = createRequire(import.meta.url)(file) as Partial<SdNotifyAddon>;
    if (typeof loaded.send !== 'function') return { error: `${file} does not export send()`, file };
    return { addon: loaded as SdNotifyAddon, file };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') return { error: `${file} is not there (not built)`, file };
    // A wrong ELF class, a missing symbol, an older N-API: the first line says which.
    return { error: `${file}: ${String((err as Error).message).split('\n')[0]}`, file };
  }
}

/** `ECONNREFUSED (connection refused)` for an errno value the addon returned. */
export function describeErrno(errno: number): string {
  const known = getSystemErrorMap().get(-errno);
  return known ? `${known[0]} (${known[1]})` : `errno ${errno}`;
}
