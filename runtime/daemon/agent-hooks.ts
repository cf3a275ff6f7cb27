/**
 * What the daemon attaches around every agent isolate (the supervisor's hooks): the HAL session (admit: grants
 * resolved and actuators claimed at spawn; detach: safe state when the isolate ends; release: claims gone), the
 * state service (ctx.state), the agent manager (ctx.agents) and the orchestration hub (ctx.events).
 */
import type { HalService } from '../../hal/hal-service.ts';
import type { Logger } from '../logging/logger.ts';
import type { StateDb } from '../state/state-db.ts';
import { serveAgentState } from '../state/agent-state-service.ts';
import type { SupervisorHooks } from '../supervisor/instance-deps.ts';
import type { AgentOps } from '../supervisor/agent-ops.ts';
import { serveAgentManager } from './agent-manager-service.ts';
import type { OrchestrationHub } from '../orchestrator/orchestration-hub.ts';

export interface AgentHookDeps {
  hal: HalService;
  db: StateDb;
  rules: OrchestrationHub;
  /** What ctx.agents does (the design layer's current template, spawned by the supervisor). */
  agents: AgentOps;
  log: Logger;
}

export function agentHooks(d: AgentHookDeps): SupervisorHooks {
  return {
    admit: (pid, blueprint) => d.hal.admit(pid, blueprint.manifest.id, blueprint.manifest.capabilities),
    attach: (pid, isolate, blueprint) => {
      d.hal.attach(pid, isolate.channel);
      d.rules.attach(pid, blueprint, isolate.channel);
      serveAgentState(blueprint.manifest.id, isolate.channel, d.db, d.log.child('state'));
      serveAgentManager(blueprint, pid, isolate.channel, { ...d.agents, log: d.log.child('agents') });
    },
    detach: async (pid) => {
      d.rules.detach(pid);
      await d.hal.detach(pid);
    },
    release: (pid) => d.hal.release(pid),
    // The same answer serveAgentState gives to `state.load`, read at launch for the bootstrap (issue 12).
    initialState: (agentId) => d.db.getSnapshot(agentId) ?? null,
  };
}
