/**
 * What the board's deployer (deployer.ts) needs from the rest of the daemon, as small ports the daemon fills in
 * (runtime/daemon/deploy-wiring.ts) and tests fake: the agents of a template, its persisted state, and the template
 * store's deployed overlay (runtime/design/template-store.ts setDeployed()).
 */
import type { Clock } from '../clock.ts';
import type { Blueprint } from '../design/blueprint.ts';
import type { Logger } from '../logging/logger.ts';
import type { JsonValue } from '../state/state-schema.ts';
import type { IAgentStatus } from '../supervisor/agent-status.ts';

export interface DeployAgents {
  /** The live instance of an agent id (spec 002: one per id), or undefined. */
  live(agentId: string): IAgentStatus | undefined;
  /** Stops it with SIGTERM, within its stop(ctx) grace period (supervisor.kill). */
  stop(agentId: string): Promise<void>;
  /** Spawns it and waits until it is running or has failed (supervisor.spawn). */
  start(blueprint: Blueprint, template: string): Promise<IAgentStatus>;
}

/** An agent's persisted snapshot (the state DB: what ctx.state hydrates from, spec 002 phase 3). */
export interface DeployState {
  get(agentId: string): JsonValue | undefined;
  /** undefined forgets the snapshot. */
  set(agentId: string, value: JsonValue | undefined): void;
  /** Resolves once every change so far is on disk. */
  flush(): Promise<void>;
}

export interface DeployTemplates {
  /** Makes a deployed version what spawns of the template run (undefined: back to the shipped/local/remote one). */
  setDeployed(templateId: string, blueprint: Blueprint | undefined): void;
  /** What a spawn of the template runs now (TemplateStore.fresh). */
  fresh(templateId: string): Promise<Blueprint>;
  /** The version of the template the store has without deployments (local dir or service), if any. */
  baseline(templateId: string): string | undefined;
}

export interface DeployerOptions {
  /** `$OPENSTARRY_HOME/deployments`. */
  root: string;
  agents: DeployAgents;
  state: DeployState;
  templates: DeployTemplates;
  clock: Clock;
  log: Logger;
  /** Default health window (deploy.healthWindowMs). */
  healthWindowMs: number;
  /** How often the health window looks at the agent. */
  pollMs?: number;
}
