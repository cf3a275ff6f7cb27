/** An agent instance's status as the supervisor keeps it; the control plane sends it as is (runtime/control/protocol.ts). */
export type AgentState = 'starting' | 'running' | 'stopping' | 'exited' | 'crashed' | 'restarting';
export type KillSignal = 'SIGTERM' | 'SIGKILL';

export interface IAgentStatus {
  pid: string;
  agentId: string;
  /** Template id, or the manifest path the agent was spawned from. */
  template: string;
  isolation: string;
  state: AgentState;
  /** ISO time of the current (or last) start. */
  startedAt: string;
  restarts: number;
  cpuPercent: number;
  memoryBytes: number;
  /** Tokens reported through ctx.metering since this agent was spawned (kept across policy restarts). */
  tokensUsed: number;
  /** The manifest's limits.tokens, when it sets one. */
  tokensBudget?: number;
  /**
   * Present (true) when the restart policy gave up on a crash loop: the agent stays `crashed`, its reason starts
   * with `quarantined: `, and only a new spawn runs it again.
   */
  quarantined?: boolean;
  /** OS pid of the isolate when it is its own process. */
  osPid?: number;
  exitCode?: number;
  reason?: string;
  /** The last `ctx.health()` report of the current isolate, if it sent one (README "Deploying updates"). */
  health?: { ok: boolean; reason?: string };
}

/** Resource use of a group of agents (runtime/supervisor/resource-summary.ts computes it from IAgentStatus rows). */
export interface ResourceTotals {
  /** Live instances (starting, running, stopping, restarting). */
  agents: number;
  /** Sum of shares of one core, so above 100 on a multi-core board. */
  cpuPercent: number;
  memoryBytes: number;
  /** Every listed instance's tokens, ended ones included (they were spent). */
  tokensUsed: number;
  /** Instances the restart policy gave up on (quarantined: true). */
  quarantined: number;
}

export interface ResourceSummary {
  /** Keyed by isolation driver name; every driver the daemon has is listed, with zeros when unused. */
  byDriver: Record<string, ResourceTotals>;
  total: ResourceTotals;
}
