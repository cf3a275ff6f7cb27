/**
 * The daemon's side of deployments on this board (issue 16, README "Deploying updates"): the deployer's ports
 * filled with the supervisor, the state DB and the template store, the bundle file read and verified, and the
 * boot's resolution of an interrupted deployment. Loaded with `await import()` at the first deployment, and at
 * boot only when `deployments/journal.json` exists (issue 12: a board that never deploys loads none of it).
 *
 * Why the CLI sends the bundle's path and the daemon reads it: the control socket's request cap (1 MiB,
 * control/request-limit.ts) stays as it is for every method, the daemon applies `deploy.maxBundleBytes` before it
 * reads a byte (stat), and the bytes are verified where they are used. The cost: the file must be readable by the
 * daemon's user (`openstarry`); `openstarry deploy` says so when the daemon cannot read it.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Clock } from '../clock.ts';
import type { DeployResult } from '../control/protocol.ts';
import type { DeployConfig } from '../deploy/config.ts';
import { trustedKeyPaths } from '../deploy/config.ts';
import { openDeployer, type DeployBoot } from '../deploy/deploy-recovery.ts';
import type { DeployOptions, DeployProgress } from '../deploy/deploy-types.ts';
import type { BoardDeployer } from '../deploy/deployer.ts';
import type { TemplateStore } from '../design/template-store.ts';
import type { Logger } from '../logging/logger.ts';
import type { StateDb } from '../state/state-db.ts';
import type { Supervisor } from '../supervisor/supervisor.ts';
import type { Env } from './paths.ts';

export interface DeployWiring {
  home: string;
  store: TemplateStore;
  supervisor: () => Supervisor | undefined;
  db: StateDb;
  config: DeployConfig;
  /** The config file's folder: `deploy.trustedKeys` are relative to it. */
  configDir: string;
  env: Env;
  clock: Clock;
  log: Logger;
}

export function deploymentsDir(home: string): string {
  return path.join(home, 'deployments');
}

/** Opens the deployer (resolving an interrupted deployment); the template store then spawns committed versions. */
export function openBoardDeployer(w: DeployWiring): Promise<DeployBoot> {
  const supervisor = (): Supervisor => {
    const s = w.supervisor();
    if (!s) throw new Error('the supervisor is not running');
    return s;
  };
  return openDeployer({
    root: deploymentsDir(w.home),
    agents: {
      live: (id) => supervisor().findLive(id)?.status(),
      stop: async (id) => void (await supervisor().kill(id, 'SIGTERM')),
      start: (blueprint, template) => supervisor().spawn(blueprint, { template }),
    },
    state: {
      get: (id) => w.db.getSnapshot(id),
      set: (id, value) => (value === undefined ? void w.db.deleteSnapshot(id) : w.db.setSnapshot(id, value)),
      flush: () => w.db.flush(),
    },
    templates: {
      setDeployed: (id, blueprint) => w.store.setDeployed(id, blueprint),
      fresh: (id) => w.store.fresh(id),
      baseline: (id) => w.store.baseline(id),
    },
    clock: w.clock,
    log: w.log.child('deploy'),
    healthWindowMs: w.config.healthWindowMs,
  });
}

/**
 * The deployer's options for a control request: every progress report is kept for the response (an older CLI
 * prints them from there) and passed on as it happens (`deploy.progress` notifications, runtime/control/).
 */
export function cliDeployOptions(healthWindowMs: number | undefined, onProgress: ((p: DeployProgress) => void) | undefined): { options: DeployOptions; progress: DeployProgress[] } {
  const progress: DeployProgress[] = [];
  const report = (p: DeployProgress): void => {
    progress.push(p);
    onProgress?.(p);
  };
  return { options: { origin: 'cli', onProgress: report, ...(healthWindowMs === undefined ? {} : { healthWindowMs }) }, progress };
}

/**
 * `deploy.apply`: an absolute bundle path, or `<templateId>@<version>` of a version kept on this board. A bundle
 * that cannot be read or verified is a refusal (counted), never an error: the outcome is the answer.
 */
export async function applyDeployment(deployer: BoardDeployer, w: DeployWiring, target: string, healthWindowMs: number | undefined, onProgress?: (p: DeployProgress) => void): Promise<DeployResult> {
  const { options, progress } = cliDeployOptions(healthWindowMs, onProgress);
  if (!path.isAbsolute(target)) {
    const at = target.lastIndexOf('@');
    if (at <= 0) return { outcome: deployer.refuse(target, '', `"${target}" is neither a bundle path nor <templateId>@<version>`, options), progress };
    return { outcome: await deployer.redeploy(target.slice(0, at), target.slice(at + 1), options), progress };
  }
  let bundle;
  try {
    const st = await stat(target);
    // A device or FIFO reports size 0 and would pass the cap below (/dev/zero reads forever): regular files only.
    if (!st.isFile()) throw new Error(`${target}: not a regular file`);
    const size = st.size;
    if (size > w.config.maxBundleBytes) throw new Error(`${size} bytes is over the ${w.config.maxBundleBytes}-byte limit (deploy.maxBundleBytes)`);
    const bytes = await readFile(target);
    // The keys are read at each deployment, as the fleet's are (bundle.ts verifyWithTrustedKeys: one rule).
    const { verifyWithTrustedKeys } = await import('../design/bundle.ts');
    bundle = await verifyWithTrustedKeys(bytes, trustedKeyPaths(w.config, w.configDir, w.env), { maxBytes: w.config.maxBundleBytes, origin: target });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'EACCES' ? `${target}: the daemon (user openstarry) cannot read it: make it readable by group openstarry` : e.code === 'ENOENT' ? `${target}: no such file` : e.message;
    return { outcome: deployer.refuse(path.basename(target), '', why, options), progress };
  }
  return { outcome: await deployer.deploy(bundle, options), progress };
}
