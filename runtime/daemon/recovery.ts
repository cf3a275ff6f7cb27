/**
 * Boot phase "recovery" (spec 002 phase 1.3, acted on once the design layer and the master are up): after an
 * abnormal interruption (power cut, OOM kill, SIGKILL) every agent the journal says was meant to be running comes
 * back, hydrated from its snapshot through ctx.state; after a clean shutdown only those whose restart policy is
 * `always`. A template that no longer validates is reported, not fatal.
 */
import path from 'node:path';
import type { RecoveryReport } from '../control/protocol.ts';
import { loadBlueprint } from '../design/blueprint.ts';
import type { TemplateStore } from '../design/template-store.ts';
import type { Logger } from '../logging/logger.ts';
import type { StateDbPlugin } from '../state/state-db-plugin.ts';
import type { Supervisor } from '../supervisor/supervisor.ts';

export interface RestoreOptions {
  stateDb: StateDbPlugin;
  supervisor: Supervisor;
  store: TemplateStore;
  /** The master is spawned by its own phase; the journal's entry for it is skipped. */
  masterAgent: string;
  log: Logger;
}

export async function restoreAgents(o: RestoreOptions): Promise<RecoveryReport> {
  const boot = o.stateDb.boot;
  const { recovery } = o.stateDb.db;
  const report: RecoveryReport = {
    stateFile: recovery.reason ? { source: recovery.source, reason: recovery.reason } : { source: recovery.source },
    previousRun: !boot || boot.bootCount <= 1 ? 'first-boot' : boot.abnormal ? 'abnormal' : 'clean',
    restored: [],
    failed: [],
  };
  if (boot?.reason) report.reason = boot.reason;
  for (const desired of boot?.previousDesired ?? []) {
    if (desired.agentId === o.masterAgent || o.supervisor.findLive(desired.agentId)) continue;
    try {
      const blueprint = path.isAbsolute(desired.template) ? await loadBlueprint(desired.template) : await o.store.fresh(desired.template);
      if (!boot?.abnormal && blueprint.manifest.restart.policy !== 'always') continue;
      const s = await o.supervisor.spawn(blueprint, { template: desired.template });
      report.restored.push({ agentId: s.agentId, pid: s.pid, template: desired.template });
      o.log.info(`restored agent ${s.agentId} as pid ${s.pid} (${boot?.abnormal ? 'after an abnormal interruption' : 'restart policy always'})`);
    } catch (err) {
      report.failed.push({ agentId: desired.agentId, template: desired.template, error: (err as Error).message });
      o.log.warn(`could not restore agent ${desired.agentId} (${desired.template}): ${(err as Error).message}`);
    }
  }
  return report;
}
