/**
 * The daemon's agents, kept out of daemon.ts so the boot sequence there reads as spec 002's phases: the supervisor
 * as the daemon configures it (agents.* settings, the hooks around every isolate), the master agent's spawn
 * (phase 3) and the desired-agents list the journal keeps for the next boot's recovery (phase 1.3).
 */
import type { HalService } from '../../hal/hal-service.ts';
import type { Clock } from '../clock.ts';
import type { IAgentStatus } from '../supervisor/agent-status.ts';
import type { LogLine } from '../logging/log-line.ts';
import type { TemplateStore } from '../design/template-store.ts';
import { ErrorCode, OpenStarryError } from '../errors.ts';
import type { Logger } from '../logging/logger.ts';
import type { OrchestrationHub } from '../orchestrator/orchestration-hub.ts';
import type { StateDb } from '../state/state-db.ts';
import type { AgentOps } from '../supervisor/agent-ops.ts';
import { Supervisor } from '../supervisor/supervisor.ts';
import type { SupervisorOptions } from '../supervisor/supervisor.ts';
import { agentHooks } from './agent-hooks.ts';
import type { DaemonConfig } from './config-schema.ts';

export interface DaemonSupervisorOptions {
  config: DaemonConfig['agents'];
  drivers: SupervisorOptions['drivers'];
  unavailable: NonNullable<SupervisorOptions['unavailable']>;
  hal: HalService;
  db: StateDb;
  rules: OrchestrationHub;
  agents: AgentOps;
  agentHome: (agentId: string) => string;
  log: Logger;
  clock: Clock;
  onLogLine: (line: LogLine) => void;
  onChange: (status: IAgentStatus) => void;
}

export function createDaemonSupervisor(o: DaemonSupervisorOptions): Supervisor {
  return new Supervisor({
    drivers: o.drivers,
    unavailable: o.unavailable,
    hooks: agentHooks({ hal: o.hal, db: o.db, rules: o.rules, agents: o.agents, log: o.log }),
    agentHome: o.agentHome,
    log: o.log.child('supervisor'),
    stopGraceMs: o.config.stopGraceMs,
    startTimeoutMs: o.config.startTimeoutMs,
    usageIntervalMs: o.config.usageIntervalMs,
    cpuLimitWindowMs: o.config.cpuLimitWindowMs,
    maxMessageBytes: o.config.maxMessageBytes,
    onLogLine: o.onLogLine,
    onChange: o.onChange,
    clock: o.clock,
    tickClock: o.clock,
  });
}

/**
 * Spawns the master agent (spec 002 phase 3); `spawned` hears its pid even when it did not come online.
 * @throws ERR_BOOT_FAILED when its template is not usable or it is not running after the spawn
 */
export async function spawnMaster(store: TemplateStore, supervisor: Supervisor, templateId: string, spawned: (pid: string) => void): Promise<IAgentStatus> {
  let blueprint;
  try {
    blueprint = store.get(templateId);
  } catch (err) {
    throw new OpenStarryError(ErrorCode.BOOT_FAILED, `master agent template "${templateId}" is not usable: ${(err as Error).message}`, { cause: err });
  }
  const status = await supervisor.spawn(blueprint, { template: templateId });
  spawned(status.pid);
  if (status.state !== 'running') {
    throw new OpenStarryError(ErrorCode.BOOT_FAILED, `master agent "${templateId}" did not come online: ${status.state}${status.reason ? ` (${status.reason})` : ''}`);
  }
  return status;
}

/** The live agents as the journal keeps them (what recovery restores after an abnormal end). */
export function desiredAgents(agents: readonly IAgentStatus[]): { agentId: string; template: string; pid: string; since: number }[] {
  return agents
    .filter((a) => a.state !== 'exited' && a.state !== 'crashed')
    .map((a) => ({ agentId: a.agentId, template: a.template, pid: a.pid, since: Date.parse(a.startedAt) }));
}
