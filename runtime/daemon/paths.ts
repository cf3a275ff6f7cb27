/**
 * Where the daemon keeps things (docs/ARCHITECTURE.md "Paths and environment"). OPENSTARRY_HOME defaults to /var/lib/openstarry as root and
 * ./.openstarry otherwise; the control socket defaults to $OPENSTARRY_HOME/openstarryd.sock (the packaged
 * systemd unit sets OPENSTARRY_SOCKET=/run/openstarry/openstarryd.sock). The CLI resolves the same way, so
 * `openstarry ps` finds the daemon `npm start` started in the same folder.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type Env = Readonly<Record<string, string | undefined>>;

export function resolveHome(env: Env = process.env, isRoot = process.getuid?.() === 0, cwd = process.cwd()): string {
  const fromEnv = env.OPENSTARRY_HOME;
  if (fromEnv !== undefined && fromEnv !== '') return path.resolve(cwd, fromEnv);
  return isRoot ? '/var/lib/openstarry' : path.resolve(cwd, '.openstarry');
}

export function resolveSocket(env: Env = process.env, home = resolveHome(env), explicit?: string, cwd = process.cwd()): string {
  if (explicit !== undefined && explicit !== '') return path.resolve(cwd, explicit);
  const fromEnv = env.OPENSTARRY_SOCKET;
  if (fromEnv !== undefined && fromEnv !== '') return path.resolve(cwd, fromEnv);
  return path.join(home, 'openstarryd.sock');
}

/** Each agent's own data dir, injected as its OPENSTARRY_HOME (spec 000 §2.2) — never the daemon's. */
export function agentHome(home: string, agentId: string): string {
  return path.join(home, 'agents', agentId);
}

/** The repository / package root: where `agents/` (shipped templates) and `package.json` live. */
export function packageRoot(from: string = import.meta.url): string {
  // runtime/daemon/paths.ts from source, dist/openstarryd.js when bundled: both are two levels or one below.
  // fileURLToPath, not URL#pathname: the latter keeps %20 & co, so a checkout under "My Projects" would break.
  const here = path.dirname(fileURLToPath(from));
  return here.endsWith(`${path.sep}dist`) ? path.dirname(here) : path.resolve(here, '..', '..');
}
