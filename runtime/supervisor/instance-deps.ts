/**
 * What an AgentInstance is given (agent-instance.ts): the hooks the rest of the daemon runs around an agent's life,
 * and the supervisor's dependencies and limits for one instance.
 */
import type { Clock } from '../clock.ts';
import type { JsonValue } from '../core/json-value.ts';
import type { Blueprint } from '../design/blueprint.ts';
import type { IIsolate, IIsolationDriver } from '../isolation/isolation-driver.ts';
import type { LogLine } from '../logging/log-line.ts';
import type { Logger } from '../logging/logger.ts';
import type { IAgentStatus } from './agent-status.ts';
import type { TokenReport } from './token-meter.ts';

/**
 * What the rest of the daemon does around an agent's life (the HAL today): admit at spawn (may refuse), attach to
 * each isolate, detach when an isolate ends (awaited before the end is reported, so an actuator is already safe
 * when `kill` returns), release when the instance ends for good.
 */
export interface SupervisorHooks {
  admit(pid: string, blueprint: Blueprint): void;
  attach(pid: string, isolate: IIsolate, blueprint: Blueprint): void;
  detach(pid: string): Promise<void>;
  release(pid: string): void;
  /** The agent's last State Snapshot (null: none), handed to its isolate at each launch; optional. */
  initialState?(agentId: string): JsonValue | null;
}

export const noHooks: SupervisorHooks = { admit() {}, attach() {}, detach: async () => undefined, release() {} };

export interface InstanceDeps {
  driver: IIsolationDriver;
  hooks: SupervisorHooks;
  clock: Clock;
  log: Logger;
  agentHome: (agentId: string) => string;
  onLogLine: (line: LogLine) => void;
  onChange: (status: IAgentStatus) => void;
  /** True once the daemon is shutting down: restart timers then do not start new isolates. */
  closing: () => boolean;
  /** How long usage must stay over limits.cpuPercent before the agent is stopped (cpu-watch.ts). */
  cpuLimitWindowMs: number;
  /** agents.startTimeoutMs: an isolate not `running` this long after its launch is stopped (`start-timeout`). */
  startTimeoutMs: number;
  /** Every valid token report (for telemetry); optional. */
  onTokens?: (pid: string, agentId: string, report: TokenReport) => void;
  /** agents.maxMessageBytes, handed to each isolate (isolation/message-cap.ts). */
  maxMessageBytes?: number;
  /** Called when an isolate was stopped for a message over the cap (counted in `status`). */
  onMessageTooLarge?: () => void;
}
