/**
 * The daemon's counters as one MetricsSnapshot for the dashboard's `GET /metrics` (issue 15, README
 * "Prometheus"): the same numbers `openstarry status --json`, `ps --json` and `devices --json` show, read at scrape
 * time (nothing is sampled between scrapes). Loaded at the first scrape (daemon-api.ts imports it lazily), so a daemon
 * nobody scrapes does not hold it (issue 12).
 */
import type { HalCallRow } from '../../hal/hal-call-stats.ts';
import type { DeviceListEntry } from '../../hal/device-list.ts';
import type { MetricsAgent, MetricsDevice, MetricsLink, MetricsRules, MetricsSnapshot } from '../dashboard/metrics-snapshot.ts';
import type { MqttLinkStatus } from '../link/mqtt-link-types.ts';
import type { OrchestratorStats } from '../orchestrator/orchestrator-stats.ts';
import type { IAgentStatus } from '../supervisor/agent-status.ts';
import type { BootPhaseReport } from '../control/protocol.ts';

export interface MetricsParts {
  version: string;
  deviceId: string;
  board: string;
  phases: readonly BootPhaseReport[];
  readyAfterMs: number | undefined;
  agents: readonly IAgentStatus[];
  /** Undefined before the HAL phase. */
  devices: readonly DeviceListEntry[] | undefined;
  halCalls: readonly HalCallRow[] | undefined;
  link: MqttLinkStatus | undefined;
  rules: OrchestratorStats | undefined;
}

const LIVE = new Set(['starting', 'running', 'stopping', 'restarting']);

export function metricsSnapshot(p: MetricsParts): MetricsSnapshot {
  const s: MetricsSnapshot = {
    build: { version: p.version, node: process.version, board: p.board, deviceId: p.deviceId },
    phases: p.phases.flatMap((ph) => (ph.durationMs === undefined ? [] : [{ phase: ph.name, seconds: ph.durationMs / 1000 }])),
    agents: metricsAgents(p.agents),
    hal: (p.halCalls ?? []).map((r) => ({ device: r.device, operation: r.operation, calls: r.calls, refused: r.refused })),
    devices: (p.devices ?? []).map(metricsDevice),
  };
  if (p.readyAfterMs !== undefined) s.bootSeconds = p.readyAfterMs / 1000;
  if (p.link) s.link = metricsLink(p.link);
  if (p.rules) s.rules = metricsRules(p.rules);
  return s;
}

/**
 * One row per agent id (the label set `agent, template, isolation` must not repeat): the live instance when there
 * is one, else the most recently started of the ended ones the supervisor still lists.
 */
export function metricsAgents(rows: readonly IAgentStatus[]): MetricsAgent[] {
  const best = new Map<string, IAgentStatus>();
  for (const a of rows) {
    const seen = best.get(a.agentId);
    const better = !seen || (LIVE.has(a.state) && !LIVE.has(seen.state)) || (LIVE.has(a.state) === LIVE.has(seen.state) && a.startedAt > seen.startedAt);
    if (better) best.set(a.agentId, a);
  }
  return [...best.values()].map((a) => ({
    agent: a.agentId,
    template: a.template,
    isolation: a.isolation,
    state: a.state,
    cpuPercent: a.cpuPercent,
    memoryBytes: a.memoryBytes,
    tokensUsed: a.tokensUsed,
    restarts: a.restarts,
    quarantined: a.quarantined === true,
  }));
}

/** A sensor's value is its reading map ({ temperature: 21.4 }); only finite numbers become readings. */
function metricsDevice(d: DeviceListEntry): MetricsDevice {
  const out: MetricsDevice = { device: d.id, kind: d.kind, ok: d.state === 'ok' };
  if (d.kind === 'sensor' && typeof d.value === 'object' && d.value !== null) {
    const readings = Object.fromEntries(Object.entries(d.value).filter((e): e is [string, number] => typeof e[1] === 'number' && Number.isFinite(e[1])));
    if (Object.keys(readings).length > 0) out.readings = readings;
    const at = d.updatedAt === undefined ? Number.NaN : Date.parse(d.updatedAt);
    if (out.readings && Number.isFinite(at)) out.readAtSeconds = at / 1000;
  }
  return out;
}

function metricsLink(l: MqttLinkStatus): MetricsLink {
  return {
    connected: l.state === 'connected',
    queued: l.queue.queued,
    queueBytes: l.queue.bytes,
    dropped: {
      overflow: l.queue.dropped,
      expired: l.queue.expired,
      'qos0-offline': l.droppedQos0,
      rejected: l.rejected,
      'incoming-oversized': l.incoming.oversized,
      'incoming-malformed': l.incoming.malformed,
    },
    delivered: { out: l.delivered, in: l.incoming.delivered },
  };
}

/** Rules by their label (`name`, or `rules[<i>]`); two rules may share a name, so their fires add up under it. */
function metricsRules(r: OrchestratorStats): MetricsRules {
  const fired = new Map<string, number>();
  for (const rule of r.perRule) fired.set(rule.label, (fired.get(rule.label) ?? 0) + rule.fired);
  return { eventsSeen: r.eventsSeen, dropped: { ...r.dropped }, perRule: [...fired].map(([rule, n]) => ({ rule, fired: n })) };
}
