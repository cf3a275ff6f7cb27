/**
 * The Prometheus text format of a MetricsSnapshot (issue 15, README "Prometheus"), rendered by
 * prom-client into a registry that holds only these families (no default collectors: the two process_* gauges
 * below are chosen on purpose, read from process.memoryUsage() and the start time, nothing sampled between scrapes).
 *
 * prom-client is loaded at the first scrape (`await import`), never on the boot path (issue 12: idle RSS); after
 * that the registry stays, and each scrape only sets values from the snapshot in its metrics' collect(). Label
 * values (agent names, rule labels, device ids from the config) are escaped by prom-client; their number is bounded
 * by the snapshot (metrics-snapshot.ts).
 */
import type { Registry } from 'prom-client';
import type { AgentState } from '../supervisor/agent-status.ts';
import type { MetricsSnapshot } from './metrics-snapshot.ts';

/** Every state a `openstarry_agent_state` series is written for (1 for the agent's own, 0 for the others). */
const AGENT_STATES = ['starting', 'running', 'stopping', 'exited', 'crashed', 'restarting'] as const satisfies readonly AgentState[];

export interface MetricsRenderer {
  /** `text/plain; version=0.0.4; charset=utf-8` */
  readonly contentType: string;
  render(snapshot: MetricsSnapshot): Promise<string>;
}

type Labels = Record<string, string>;
type Rows = (s: MetricsSnapshot) => Iterable<readonly [Labels, number]>;

/** Loads prom-client and builds the registry (once per renderer). */
export async function createMetricsRenderer(options: { startTimeSeconds: number; rss: () => number }): Promise<MetricsRenderer> {
  // Only the registry and the two metric types (prom-client-modules.d.ts says why not the package's index). They are
  // CommonJS: `default` is module.exports both under Node's import() and in esbuild's chunk (dist/).
  const [{ default: PromRegistry }, { default: Gauge }, { default: Counter }] = await Promise.all([
    import('prom-client/lib/registry.js'),
    import('prom-client/lib/gauge.js'),
    import('prom-client/lib/counter.js'),
  ]);
  const registry: Registry = new PromRegistry();
  let current: MetricsSnapshot | undefined;
  // One family: its collect() writes this scrape's rows (reset first, so an agent or device that went is gone; a
  // family without labels then reads 0, prom-client's reset value, when the snapshot has nothing for it).
  const family = (type: 'gauge' | 'counter', name: string, help: string, labelNames: readonly string[], rows: Rows) => {
    const collect = function (this: { reset(): void; set?(l: Labels, v: number): void; inc?(l: Labels, v: number): void }) {
      this.reset();
      if (!current) return;
      for (const [labels, value] of rows(current)) {
        if (!Number.isFinite(value)) continue;
        if (type === 'gauge') this.set?.(labels, value);
        else this.inc?.(labels, Math.max(0, value));
      }
    };
    const config = { name, help, labelNames, registers: [registry], collect };
    if (type === 'gauge') new Gauge(config);
    else new Counter(config);
  };
  const one = (value: number | undefined): [Labels, number][] => (value === undefined ? [] : [[{}, value]]);
  const byReason = (counts: Record<string, number>) => Object.entries(counts).map(([reason, n]) => [{ reason }, n] as const);
  const agentLabels = ['agent', 'template', 'isolation'] as const;
  const perAgent = (value: (a: MetricsSnapshot['agents'][number]) => number): Rows => (s) => s.agents.map((a) => [{ agent: a.agent, template: a.template, isolation: a.isolation }, value(a)] as const);

  family('gauge', 'openstarry_build_info', 'The daemon build: version, Node.js version, board profile and device id (value 1).', ['version', 'node', 'board', 'device_id'], (s) => [[{ version: s.build.version, node: s.build.node, board: s.build.board, device_id: s.build.deviceId }, 1]]);
  family('gauge', 'openstarry_boot_duration_seconds', 'Seconds from the process start to ready (0 while booting).', [], (s) => one(s.bootSeconds));
  family('gauge', 'openstarry_boot_phase_duration_seconds', 'Seconds each boot phase took (spec 002 phases; `openstarry status`).', ['phase'], (s) => s.phases.map((p) => [{ phase: p.phase }, p.seconds] as const));
  family('gauge', 'process_resident_memory_bytes', 'Resident memory size of the daemon process in bytes.', [], () => one(options.rss()));
  family('gauge', 'process_start_time_seconds', 'Start time of the daemon process since the Unix epoch in seconds.', [], () => one(options.startTimeSeconds));

  family('gauge', 'openstarry_agent_cpu_ratio', 'CPU used by the agent, as a share of one core (1 = one full core).', agentLabels, perAgent((a) => a.cpuPercent / 100));
  family('gauge', 'openstarry_agent_memory_bytes', 'Memory used by the agent in bytes.', agentLabels, perAgent((a) => a.memoryBytes));
  family('counter', 'openstarry_agent_tokens_total', 'Tokens the agent reported through ctx.metering since it was spawned.', agentLabels, perAgent((a) => a.tokensUsed));
  family('counter', 'openstarry_agent_restarts_total', 'Restarts of the agent by its restart policy.', agentLabels, perAgent((a) => a.restarts));
  family('gauge', 'openstarry_agent_quarantined', 'Whether the restart policy gave up on the agent (1) or not (0).', agentLabels, perAgent((a) => (a.quarantined ? 1 : 0)));
  family('gauge', 'openstarry_agent_state', "The agent's state: 1 for its current state, 0 for the others.", [...agentLabels, 'state'], (s) =>
    s.agents.flatMap((a) => AGENT_STATES.map((state) => [{ agent: a.agent, template: a.template, isolation: a.isolation, state }, a.state === state ? 1 : 0] as const)));

  family('counter', 'openstarry_hal_calls_total', 'HAL calls by device and operation (agents and operator commands), refused ones included.', ['device', 'operation'], (s) => s.hal.map((r) => [{ device: r.device, operation: r.operation }, r.calls] as const));
  family('counter', 'openstarry_hal_refusals_total', 'HAL calls refused or failed, by device, operation and reason (an error code, or driver-error).', ['device', 'operation', 'reason'], (s) =>
    s.hal.flatMap((r) => Object.entries(r.refused).map(([reason, n]) => [{ device: r.device, operation: r.operation, reason }, n] as const)));
  family('gauge', 'openstarry_sensor_read_timestamp_seconds', "When the sensor's last reading was taken (seconds since the epoch).", ['device'], (s) =>
    s.devices.flatMap((d) => (d.readings && d.readAtSeconds !== undefined ? [[{ device: d.device }, d.readAtSeconds] as const] : [])));
  family('gauge', 'openstarry_device_up', 'Whether the device opened and works (1) or failed (0).', ['device', 'kind'], (s) => s.devices.map((d) => [{ device: d.device, kind: d.kind }, d.ok ? 1 : 0] as const));
  family('gauge', 'openstarry_sensor_value', "A sensor's last reading, by device and quantity, in the quantity's unit.", ['device', 'quantity'], (s) =>
    s.devices.flatMap((d) => Object.entries(d.readings ?? {}).map(([quantity, v]) => [{ device: d.device, quantity }, v] as const)));

  family('gauge', 'openstarry_mqtt_connected', 'Whether the MQTT link is connected (1) or not (0, also when there is no link).', [], (s) => one(s.link ? (s.link.connected ? 1 : 0) : undefined));
  family('gauge', 'openstarry_mqtt_queue_messages', 'Messages waiting in the persisted outbound queue.', [], (s) => one(s.link?.queued));
  family('gauge', 'openstarry_mqtt_queue_bytes', 'Topic and payload bytes waiting in the persisted outbound queue.', [], (s) => one(s.link?.queueBytes));
  family('counter', 'openstarry_mqtt_dropped_total', 'MQTT messages lost, by reason.', ['reason'], (s) => byReason(s.link?.dropped ?? {}));
  family('counter', 'openstarry_mqtt_delivered_total', 'MQTT messages delivered: out = acknowledged by the broker (QoS 1) or sent (QoS 0), in = handed to a handler.', ['direction'], (s) =>
    s.link ? [[{ direction: 'out' }, s.link.delivered.out], [{ direction: 'in' }, s.link.delivered.in]] : []);

  family('counter', 'openstarry_events_seen_total', 'Events the orchestrator received.', [], (s) => one(s.rules?.eventsSeen));
  family('counter', 'openstarry_events_dropped_total', 'Events dropped by the orchestrator, by reason.', ['reason'], (s) => byReason(s.rules?.dropped ?? {}));
  family('counter', 'openstarry_rule_fires_total', 'Times each rule fired (counted afresh after a reload).', ['rule'], (s) => (s.rules?.perRule ?? []).map((r) => [{ rule: r.rule }, r.fired] as const));

  // One scrape at a time: the collect() callbacks read `current`, which a concurrent scrape would replace midway.
  let queue: Promise<unknown> = Promise.resolve();
  return {
    contentType: registry.contentType,
    render(snapshot) {
      const run = queue.then(async () => {
        current = snapshot;
        try {
          return await registry.metrics();
        } finally {
          current = undefined;
        }
      });
      queue = run.catch(() => undefined);
      return run;
    },
  };
}
