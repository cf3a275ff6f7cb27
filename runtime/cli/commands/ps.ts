/**
 * `openstarry ps [--json]` (README "A short tour"): one row per agent the supervisor knows. TOKENS is `used` or
 * `used/budget` (limits.tokens); a quarantined agent is `crashed` with a reason starting `quarantined: `.
 */
import type { AgentState, IAgentStatus } from '../../control/protocol.ts';
import type { Command } from '../args.ts';
import { ExitCode } from '../args.ts';
import { formatBytes, formatDuration, formatPercent, formatTable, since } from '../format.ts';

/** States in which an isolate exists, so an uptime means something. */
const LIVE: ReadonlySet<AgentState> = new Set(['starting', 'running', 'stopping']);

export function psTable(agents: readonly IAgentStatus[], now: number): string {
  const rows = agents.map((a) => [
    a.pid,
    a.agentId,
    a.template,
    a.isolation,
    a.state,
    String(a.restarts),
    formatPercent(a.cpuPercent),
    formatBytes(a.memoryBytes),
    a.tokensBudget === undefined ? String(a.tokensUsed) : `${a.tokensUsed}/${a.tokensBudget}`,
    LIVE.has(a.state) ? formatDuration(since(a.startedAt, now)) : '-',
    a.reason ?? (a.exitCode !== undefined ? `exit code ${a.exitCode}` : ''),
  ]);
  return formatTable(['PID', 'AGENT', 'TEMPLATE', 'ISOLATION', 'STATE', 'RESTARTS', 'CPU%', 'MEM', 'TOKENS', 'UPTIME', 'REASON'], rows);
}

export const ps: Command = {
  name: 'ps',
  summary: 'list agents',
  synopsis: 'ps [--json]',
  args: [0, 0],
  async run(ctx) {
    const agents = await ctx.call('listAgents');
    ctx.io.out(ctx.json ? JSON.stringify(agents, null, 2) : psTable(agents, Date.now()));
    return ExitCode.OK;
  },
};
