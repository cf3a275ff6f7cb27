/**
 * `openstarry status` (README "A short tour"): the daemon's parts, read into one DaemonStatus. Kept apart from the boot
 * sequence: which flags count as degraded, and how each part reports itself, is its own concern.
 */
import type { BoardDetection } from '../../board-profiles/detect.ts';
import type { BoardHal } from '../../hal/board-hal.ts';
import type { AgentState, DaemonStatus, IAgentStatus, RecoveryReport, ReloadReport, TemplatesResult } from '../control/protocol.ts';
import type { TemplateStore } from '../design/template-store.ts';
import type { Logger } from '../logging/logger.ts';
import type { MqttInfrastructure } from '../link/link-plugin.ts';
import { mqttStatus } from '../link/link-plugin.ts';
import { resourceSummary } from '../supervisor/resource-summary.ts';
import type { StateDbPlugin } from '../state/state-db-plugin.ts';
import type { BootReport } from './boot-report.ts';
import type { DockerIsolationPlugin } from './docker-isolation.ts';
import type { InfrastructureRunner } from './infrastructure.ts';
import type { SystemdStatus } from './systemd-service.ts';
import type { TolerantDashboard } from './tolerant-dashboard.ts';
import { VERSION } from '../version.ts';

export interface StatusParts {
  deviceId: string;
  state: DaemonStatus['state'];
  boot: BootReport;
  home: string;
  socket: string;
  startedAt: number;
  configFile?: string;
  masterPid?: string;
  agents: IAgentStatus[];
  drivers: string[];
  unavailableIsolation: Record<string, string>;
  board?: BoardDetection;
  store?: TemplateStore;
  hal?: BoardHal;
  infra?: InfrastructureRunner;
  mqtt?: MqttInfrastructure;
  docker?: DockerIsolationPlugin;
  dashboard?: TolerantDashboard;
  orchestration?: DaemonStatus['orchestration'];
  reload?: ReloadReport;
  recovery?: RecoveryReport;
  systemd?: SystemdStatus;
  control?: DaemonStatus['control'];
  channels?: DaemonStatus['channels'];
  stateDb?: StateDbPlugin;
  homeassistant?: { status(): NonNullable<DaemonStatus['homeassistant']> };
  fleet?: { status(): NonNullable<DaemonStatus['fleet']> };
}

/** What runs in a reduced mode, as short flags (`devices-failed:2`, `design-layer-unreachable`, ...). */
export function degradedFlags(p: StatusParts): string[] {
  const flags: string[] = [];
  if (p.store && p.store.invalid.length > 0) flags.push(`templates-excluded:${p.store.invalid.length}`);
  if (p.store?.remoteState()?.state === 'unreachable') flags.push('design-layer-unreachable');
  const failedDevices = p.hal?.registry.list().filter((d) => !d.device).length ?? 0;
  if (failedDevices > 0) flags.push(`devices-failed:${failedDevices}`);
  if (p.recovery?.stateFile.source === 'backup') flags.push('state-from-backup');
  if (p.docker?.degraded) flags.push('docker-unavailable');
  if (p.dashboard?.error) flags.push('dashboard-unavailable');
  if (p.mqtt?.broker?.status().state === 'port-in-use') flags.push('embedded-broker-port-in-use');
  if (p.stateDb?.status().stats?.readOnly) flags.push('state-readonly');
  return flags;
}

export function composeStatus(p: StatusParts): DaemonStatus {
  const counts = { starting: 0, running: 0, stopping: 0, exited: 0, crashed: 0, restarting: 0, total: p.agents.length } satisfies Record<AgentState, number> & { total: number };
  for (const a of p.agents) counts[a.state] += 1;
  const { store, board, dashboard } = p;
  const remote = store?.remoteState();
  const s: DaemonStatus = {
    version: VERSION,
    deviceId: p.deviceId,
    pid: process.pid,
    state: p.state,
    phase: p.boot.current,
    phases: p.boot.phases(),
    board: board ? { name: board.profile.name, detectedBy: board.detectedBy, ...(board.model ? { model: board.model } : {}) } : { name: 'unknown', detectedBy: 'fallback' },
    degraded: degradedFlags(p),
    home: p.home,
    socket: p.socket,
    startedAt: new Date(p.startedAt).toISOString(),
    uptimeMs: Date.now() - p.startedAt,
    templates: { dir: store?.dir ?? '', valid: store?.list().length ?? 0, invalid: store?.invalid.map((t) => ({ file: t.file, error: t.error })) ?? [], ...(remote ? { remote } : {}) },
    infrastructure: p.infra?.states() ?? [],
    link: mqttStatus(p.mqtt),
    ...(p.orchestration ? { orchestration: p.orchestration } : {}),
    ...(p.reload ? { reload: p.reload } : {}),
    ...(dashboard ? { dashboard: dashboard.error ? { error: dashboard.error } : { listen: addressText(dashboard.address()), ...dashboard.stats() } } : {}),
    isolation: { drivers: p.drivers, unavailable: p.unavailableIsolation },
    ...(p.recovery ? { recovery: p.recovery } : {}),
    ...(p.systemd ? { systemd: p.systemd } : {}),
    ...(p.channels ? { channels: p.channels } : {}),
    ...(p.hal ? { hal: { calls: p.hal.service.callStats(), operator: p.hal.service.operatorStats() } } : {}),
    ...(p.stateDb ? { stateDb: stateDbStatus(p.stateDb) } : {}),
    ...(p.homeassistant ? { homeassistant: p.homeassistant.status() } : {}),
    ...(p.fleet ? { fleet: p.fleet.status() } : {}),
    agents: counts,
    resources: resourceSummary(p.agents, p.drivers),
    ...(p.control ? { control: p.control } : {}),
  };
  if (p.configFile) s.configFile = p.configFile;
  if (p.masterPid) s.masterPid = p.masterPid;
  return s;
}

function stateDbStatus(plugin: StateDbPlugin): NonNullable<DaemonStatus['stateDb']> {
  const { file, stats } = plugin.status();
  return { file, readOnly: stats?.readOnly === true, failedWrites: stats?.failedWrites ?? 0, ...(stats?.lastError ? { lastError: stats.lastError } : {}) };
}

function addressText(a: { host: string; port: number } | undefined): string {
  if (!a) return '';
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** The design phase's line in `status` and the log; every excluded template is logged with its error. */
export function describeDesign(log: Logger): (s: TemplateStore) => { detail: string; degraded: boolean } {
  return (s) => {
    for (const bad of s.invalid) log.warn(`template excluded: ${bad.error}`);
    const r = s.remoteState();
    const from = r ? `${s.dir} and ${r.url} (${r.state === 'synced' ? 'synced' : `unreachable, ${r.templates} from the cache`})` : s.dir;
    return { detail: `${s.list().length} valid, ${s.invalid.length} excluded, from ${from}`, degraded: s.invalid.length > 0 || r?.state === 'unreachable' };
  };
}

/** `openstarry templates`: the valid templates, the excluded ones with their errors, and the remote service's state. */
export function templatesResult(store: TemplateStore): TemplatesResult {
  const remote = store.remoteState();
  return { dir: store.dir, templates: store.list(), invalid: store.invalid.map((t) => ({ file: t.file, error: t.error })), ...(remote ? { remote } : {}) };
}

/** Isolations asked for but missing, with why: docker when its engine was wanted and no driver opened. */
export function unavailableIsolation(dockerUnavailable: string | undefined, drivers: readonly { name: string }[]): Record<string, string> {
  return dockerUnavailable && !drivers.some((d) => d.name === 'docker') ? { docker: dockerUnavailable } : {};
}
