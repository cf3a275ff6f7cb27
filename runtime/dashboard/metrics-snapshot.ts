/**
 * What `GET /metrics` renders (issue 15, README "Prometheus"): one plain snapshot of the counters the
 * daemon already keeps, taken at scrape time. The daemon builds it (runtime/daemon/daemon-metrics.ts) from its
 * status, the HAL and the link; the dashboard only renders it (metrics.ts), so it imports nothing of the daemon's.
 * Every list here is bounded by the daemon: agents by the supervisor (live ones plus `keepEnded`), devices by the
 * board profile and the config, HAL rows by devices x operations, rules by the rules file.
 */

export interface MetricsAgent {
  agent: string;
  template: string;
  isolation: string;
  state: string;
  /** Share of one core, in percent (IAgentStatus.cpuPercent). */
  cpuPercent: number;
  memoryBytes: number;
  tokensUsed: number;
  restarts: number;
  quarantined: boolean;
}

export interface MetricsHalRow {
  device: string;
  operation: string;
  calls: number;
  /** By reason: an error code, or `driver-error`. */
  refused: Record<string, number>;
}

export interface MetricsDevice {
  device: string;
  kind: string;
  ok: boolean;
  /** A sensor's last reading by quantity (only finite numbers are rendered). */
  readings?: Record<string, number>;
  /** When that reading was taken (seconds since the epoch): how stale `readings` is. */
  readAtSeconds?: number;
}

export interface MetricsLink {
  connected: boolean;
  queued: number;
  queueBytes: number;
  /** Lost messages by reason: overflow, expired, qos0-offline, rejected, incoming-oversized, incoming-malformed. */
  dropped: Record<string, number>;
  /** Sent and acknowledged (out), handed to a handler (in). */
  delivered: { out: number; in: number };
}

export interface MetricsRules {
  eventsSeen: number;
  /** Event drops by reason (runtime/orchestrator/orchestrator-stats.ts DROP_REASONS). */
  dropped: Record<string, number>;
  /** Per rule (its label); counters start afresh at a reload, as `openstarry status` shows them. */
  perRule: { rule: string; fired: number }[];
}

export interface MetricsSnapshot {
  build: { version: string; node: string; board: string; deviceId: string };
  /** From the process start to `ready`; absent while booting. */
  bootSeconds?: number;
  /** Boot phases that ran, with their durations. */
  phases: { phase: string; seconds: number }[];
  agents: MetricsAgent[];
  hal: MetricsHalRow[];
  devices: MetricsDevice[];
  /** Absent when there is no MQTT link (none configured, or the embedded broker's port was taken). */
  link?: MetricsLink;
  /** Absent before the rules boot phase. */
  rules?: MetricsRules;
}

/** The dashboard's source of it, read at each scrape: undefined while there is nothing to show yet (503). */
export type MetricsSource = () => MetricsSnapshot | undefined | Promise<MetricsSnapshot | undefined>;
