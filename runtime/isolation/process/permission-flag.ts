/**
 * The flag that turns Node's permission model on, chosen by the version of the runtime that will run the child (a
 * process isolate is `process.execPath`, the daemon's own Node, so by default `process.version`).
 *
 * Node's doc/api/permissions.md ("Permission Model", history) and doc/api/cli.md (`--permission`):
 *   - Node 20 and 22.0–22.12 know only `--experimental-permission`;
 *   - 22.13.0 and 23.5.0 made the model stable as `--permission`, keeping `--experimental-permission` as an alias;
 *   - Node 24 dropped the alias: `node --experimental-permission` exits 9 with "bad option" (checked on 24.22.3).
 * So the new spelling wherever it exists, and the old one only where it is the only one.
 */
export type PermissionFlag = '--permission' | '--experimental-permission';

/** `v22.23.5` (or `22.23.5`) → [22, 23]; anything else is refused with the string quoted. */
function majorMinor(version: string): [number, number] {
  const m = /^v?(\d+)\.(\d+)\.\d+/.exec(version);
  if (!m) throw new Error(`not a Node version: ${JSON.stringify(version)} (expected e.g. v22.23.5)`);
  return [Number(m[1]), Number(m[2])];
}

export function permissionFlag(version: string = process.version): PermissionFlag {
  const [major, minor] = majorMinor(version);
  const stable = major >= 24 || (major === 23 && minor >= 5) || (major === 22 && minor >= 13);
  return stable ? '--permission' : '--experimental-permission';
}
