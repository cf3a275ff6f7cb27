/**
 * Resource totals per isolation driver (spec 000 §1.1 resource monitoring) from the same IAgentStatus rows `ps`
 * shows: what `status` reports and what MQTT `telemetry` publishes. Pure, so any consumer can recompute it.
 *
 * agents, cpuPercent and memoryBytes cover live instances (an ended one has neither CPU nor memory); tokensUsed
 * sums every listed instance, ended ones included (their tokens were spent), for as long as the supervisor lists
 * them (agents.keepEnded, 100 by default).
 */
import type { AgentState, IAgentStatus, ResourceSummary, ResourceTotals } from './agent-status.ts';

export type { ResourceSummary, ResourceTotals } from './agent-status.ts';

const ENDED: ReadonlySet<AgentState> = new Set(['exited', 'crashed']);

const empty = (): ResourceTotals => ({ agents: 0, cpuPercent: 0, memoryBytes: 0, tokensUsed: 0, quarantined: 0 });

/**
 * @param drivers driver names listed even with no agents (the daemon's available drivers), in this order
 */
export function resourceSummary(list: readonly IAgentStatus[], drivers: readonly string[] = []): ResourceSummary {
  const byDriver: Record<string, ResourceTotals> = {};
  for (const name of drivers) byDriver[name] = empty();
  const total = empty();
  for (const a of list) {
    const d = (byDriver[a.isolation] ??= empty());
    for (const into of [d, total]) {
      if (!ENDED.has(a.state)) {
        into.agents += 1;
        into.cpuPercent += a.cpuPercent;
        into.memoryBytes += a.memoryBytes;
      }
      into.tokensUsed += a.tokensUsed;
      if (a.quarantined) into.quarantined += 1;
    }
  }
  // Sums of values rounded to 0.1 drift (0.1 + 0.2); round once more so JSON readers see what ps shows.
  for (const t of [...Object.values(byDriver), total]) t.cpuPercent = Math.round(t.cpuPercent * 10) / 10;
  return { byDriver, total };
}
