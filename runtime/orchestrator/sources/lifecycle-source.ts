/**
 * Agent lifecycle as events: `agent:<agentId>:started|exited|crashed` with { agentId, pid, template, state,
 * restarts, exitCode?, reason? }. The daemon calls observe() from the supervisor's onChange; only transitions
 * into running/exited/crashed emit (a repeated status for the same state does not).
 */
import type { IAgentStatus } from '../../supervisor/agent-status.ts';
import type { JsonValue } from '../../core/plugin.ts';
import type { Emit } from './event-source.ts';

const EVENT_OF: Partial<Record<IAgentStatus['state'], string>> = { running: 'started', exited: 'exited', crashed: 'crashed' };
const MAX_TRACKED = 1024;

export interface LifecycleSource {
  observe(status: IAgentStatus): void;
}

export function createLifecycleSource(emit: Emit): LifecycleSource {
  const last = new Map<string, IAgentStatus['state']>();
  return {
    observe(status) {
      const previous = last.get(status.pid);
      last.delete(status.pid);
      last.set(status.pid, status.state); // re-inserted: the map stays in least-recently-changed order
      if (last.size > MAX_TRACKED) last.delete(last.keys().next().value as string);
      if (previous === status.state) return;
      const what = EVENT_OF[status.state];
      if (what === undefined) return;
      const data: Record<string, JsonValue> = { agentId: status.agentId, pid: status.pid, template: status.template, state: status.state, restarts: status.restarts };
      if (status.exitCode !== undefined) data.exitCode = status.exitCode;
      if (status.reason !== undefined) data.reason = status.reason;
      emit({ name: `agent:${status.agentId}:${what}`, data, source: 'lifecycle' });
    },
  };
}
