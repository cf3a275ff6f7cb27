/**
 * What the daemon attaches around every agent isolate (the supervisor's hooks): the HAL session (admit: grants
 * resolved and actuators claimed at spawn; detach: safe state when the isolate ends; release: claims gone), the
 * state service (ctx.state), the agent manager (ctx.agents) and the orchestration hub (ctx.events).
 */
import type { HalService } from '../../hal/hal-service.ts';
import type { IAgentStatus } from '../control/protocol.ts';
import type { Blueprint } from '../design/blueprint.ts';
import type { Logger } from '../logging/logger.ts';
import type { StateDb } from '../state/state-db.ts';
import { serveAgentState } from '../state/agent-state-service.ts';
import type { SupervisorHooks } from '../supervisor/agent-instance.ts';
import { serveAgentManager } from './agent-manager-service.ts';
import type { OrchestrationHub } from './orchestration-hub.ts';

export interface AgentHookDeps {
  hal: HalService;
  db: StateDb;
  rules: OrchestrationHub;
  /** The design layer's current template (what ctx.agents.spawn runs). */
  template(id: string): Promise<Blueprint>;
  spawn(blueprint: Blueprint, templateId: string): Promise<IAgentStatus>;
  kill(target: string): Promise<IAgentStatus>;
  list(): IAgentStatus[];
  log: Logger;
}

export function agentHooks(d: AgentHookDeps): SupervisorHooks {
  return {
    admit: (pid, blueprint) => d.hal.admit(pid, blueprint.manifest.id, blueprint.manifest.capabilities),
    attach: (pid, isolate, blueprint) => {
      d.hal.attach(pid, isolate.channel);
      d.rules.attach(pid, blueprint, isolate.channel);
      serveAgentState(blueprint.manifest.id, isolate.channel, d.db, d.log.child('state'));
      serveAgentManager(blueprint, pid, isolate.channel, { template: d.template, spawn: d.spawn, kill: d.kill, list: d.list, log: d.log.child('agents') });
    },
    detach: async (pid) => {
      d.rules.detach(pid);
      await d.hal.detach(pid);
    },
    release: (pid) => d.hal.release(pid),
  };
}
