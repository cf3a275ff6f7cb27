/**
 * The daemon's infrastructure plugins (spec 002 phase 1.2, docs/ARCHITECTURE.md "Boot sequence"), in start order:
 *   state DB        first: open before anything hydrates from it, stopped last
 *   embedded broker with no mqtt.url; a taken port is not fatal (the board runs without MQTT, `status` says why)
 *   MQTT link       its start waits at most mqtt.startWaitMs for a broker, then boots offline (QoS 1 queues)
 *   docker engine   tried per isolation.docker; missing -> not offered, degraded only when asked for
 *   dashboard       the page and its JSON API; a taken port (or a non-loopback listen without a token) is not fatal either
 * The runner stops them in reverse.
 */
import path from 'node:path';
import type { Clock } from '../clock.ts';
import type { DaemonConfig } from './config-schema.ts';
import type { InfrastructurePlugin } from './infrastructure.ts';
import { InfrastructureRunner } from './infrastructure.ts';
import type { MqttInfrastructure } from '../link/link-plugin.ts';
import { createMqttInfrastructure, embeddedBrokerOverride } from '../link/link-plugin.ts';
import type { Logger } from '../logging/logger.ts';
import type { DashboardDaemon } from '../dashboard/dashboard-feed.ts';
import type { DashboardSources } from '../dashboard/dashboard-server.ts';
import type { MetricsSource } from '../dashboard/metrics-snapshot.ts';
import { createDashboardServer } from '../dashboard/dashboard-server.ts';
import { StateDbPlugin } from '../state/state-db-plugin.ts';
import { DockerIsolationPlugin } from './docker-isolation.ts';
import { TolerantDashboard } from './tolerant-dashboard.ts';
import { packageRoot } from './paths.ts';
import { VERSION } from '../version.ts';

export interface DaemonInfrastructure {
  stateDb: StateDbPlugin;
  mqtt: MqttInfrastructure;
  docker: DockerIsolationPlugin;
  dashboard: TolerantDashboard | undefined;
  runner: InfrastructureRunner;
}

/** `dashboard.tokenFile`, else OPENSTARRY_DASHBOARD_TOKEN_FILE (the package's wrapper names the token postinst wrote). */
function dashboardToken(tokenFile: string | undefined, env: Readonly<Record<string, string | undefined>>): { tokenFile?: string } {
  const file = tokenFile ?? (env.OPENSTARRY_DASHBOARD_TOKEN_FILE || undefined);
  return file === undefined ? {} : { tokenFile: file };
}

export function assembleInfrastructure(o: {
  config: DaemonConfig;
  home: string;
  deviceId: string;
  env: Readonly<Record<string, string | undefined>>;
  clock: Clock;
  log: Logger;
  dashboardSources: DashboardSources;
  /** The page's reads and actions (dashboard-binding.ts). */
  dashboardDaemon?: DashboardDaemon;
  /** GET /metrics on the dashboard (issue 15). */
  metrics?: MetricsSource;
  extra?: readonly InfrastructurePlugin[];
}): DaemonInfrastructure {
  const { config, env, log } = o;
  const stateDb = new StateDbPlugin({ file: path.join(o.home, 'state.json'), clock: o.clock, log: log.child('state') });
  const mqtt = createMqttInfrastructure({
    config: embeddedBrokerOverride(config.mqtt, env.OPENSTARRY_EMBEDDED_BROKER),
    deviceId: o.deviceId,
    version: VERSION,
    home: o.home,
    log: log.child('mqtt'),
    clock: o.clock,
    portInUse: 'skip',
  });
  const docker = new DockerIsolationPlugin({ config: config.isolation.docker, home: o.home, daemonId: o.deviceId, env, clock: o.clock, log: log.child('docker') });
  const dashboard = config.dashboard.enabled
    ? new TolerantDashboard(createDashboardServer({ listen: env.OPENSTARRY_DASHBOARD || config.dashboard.listen, sources: o.dashboardSources, log: log.child('dashboard'), clock: o.clock, assetsDir: path.join(packageRoot(), 'dist', 'dashboard'), ...dashboardToken(config.dashboard.tokenFile, env), ...(o.dashboardDaemon ? { daemon: o.dashboardDaemon } : {}), ...(o.metrics ? { metrics: o.metrics } : {}) }), log.child('dashboard'))
    : undefined;
  const runner = new InfrastructureRunner([stateDb, ...mqtt.plugins, docker, ...(dashboard ? [dashboard] : []), ...(o.extra ?? [])], log.child('infra'));
  return { stateDb, mqtt, docker, dashboard, runner };
}
