/**
 * At boot, before the master and the journaled agents are spawned (docs/ARCHITECTURE.md "Boot sequence"): the
 * deployments journal is read, a deployment a power cut (or a stop) interrupted is rolled back, and each
 * template's committed version becomes what the template store spawns (issue 16: "a power cut at any step leaves
 * the board running exactly one of the two versions after reboot").
 *
 * Why rolled back and never finished: the commit is the one journal write that makes `to` current
 * (deploy-journal.ts); a deployment still in flight was not committed, so the board goes on with `from`. Its
 * state is put back when the old agent may already have been replaced (phases watching and rolling-back: the new
 * version may have saved state over it).
 */
import path from 'node:path';
import { loadBlueprint } from '../design/blueprint.ts';
import type { DurableFs } from '../durable-file.ts';
import { DeployJournal, recordFailed } from './deploy-journal.ts';
import type { InFlight } from './deploy-journal.ts';
import type { DeployerOptions } from './deploy-ports.ts';
import { BoardDeployer } from './deployer.ts';
import { VersionStore } from './version-store.ts';

export interface DeployBoot {
  deployer: BoardDeployer;
  /** The deployment that was interrupted and rolled back, if any. */
  interrupted?: InFlight;
  /** Templates whose committed version could not be loaded (the store keeps its own version of them). */
  unusable: { templateId: string; version: string; error: string }[];
}

export async function openDeployer(options: DeployerOptions & { fs?: DurableFs }): Promise<DeployBoot> {
  const journal = await DeployJournal.open(path.join(options.root, 'journal.json'), options.fs ? { fs: options.fs } : {});
  const versions = new VersionStore(options.root);
  const interrupted = journal.inFlight ?? undefined;
  if (interrupted) {
    if (interrupted.phase === 'watching' || interrupted.phase === 'rolling-back') {
      options.state.set(interrupted.templateId, interrupted.stateBackup === null ? undefined : interrupted.stateBackup);
      await options.state.flush();
    }
    await journal.update((doc) => {
      doc.inFlight = null;
      recordFailed(doc, interrupted.templateId, { version: interrupted.to, reason: `interrupted at ${interrupted.phase} (power cut or daemon stop); rolled back at boot`, at: new Date().toISOString() });
    });
    options.log.warn(`deployment of ${interrupted.templateId}@${interrupted.to} was interrupted at ${interrupted.phase}: rolled back to ${interrupted.from ?? 'the template it replaced'}`);
  }
  const unusable: DeployBoot['unusable'] = [];
  for (const [templateId, v] of Object.entries(journal.document.templates)) {
    if (v.current === undefined) continue;
    try {
      options.templates.setDeployed(templateId, await loadBlueprint(versions.manifestPath(templateId, v.current)));
    } catch (err) {
      unusable.push({ templateId, version: v.current, error: (err as Error).message });
      options.log.warn(`deployed ${templateId}@${v.current} cannot be loaded, the template's own version is used: ${(err as Error).message}`);
    }
  }
  return { deployer: new BoardDeployer(journal, options), ...(interrupted ? { interrupted } : {}), unusable };
}
