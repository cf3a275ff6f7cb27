/**
 * What the daemon's services do to agents on someone else's behalf — a master's ctx.agents (agent-manager-service)
 * and a rule's spawn/kill (orchestrator/daemon-executor) — built once over the supervisor and the design layer's
 * fresh template (spec 002 phase 4: a template is read again at spawn), and handed to both as it is.
 */
import type { IAgentStatus } from './agent-status.ts';
import type { Blueprint } from '../design/blueprint.ts';
import type { Supervisor } from './supervisor.ts';

export interface AgentOps {
  /** The template as the design layer has it now (validated). */
  template(templateId: string): Promise<Blueprint>;
  spawn(blueprint: Blueprint, templateId: string): Promise<IAgentStatus>;
  /** SIGTERM; the target is a pid or the agent id of a live instance. */
  kill(target: string): Promise<IAgentStatus>;
  list(): IAgentStatus[];
  /** A live instance of that agent id exists. */
  isLive(agentId: string): boolean;
}

/** `supervisor` is a getter: the supervisor's own hooks are built (with these) before it exists. */
export function agentOps(supervisor: () => Supervisor, template: (templateId: string) => Promise<Blueprint>): AgentOps {
  return {
    template,
    spawn: (blueprint, templateId) => supervisor().spawn(blueprint, { template: templateId }),
    kill: (target) => supervisor().kill(target, 'SIGTERM'),
    list: () => supervisor().list(),
    isLive: (agentId) => supervisor().findLive(agentId) !== undefined,
  };
}
