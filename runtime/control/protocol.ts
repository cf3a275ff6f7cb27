/**
 * The control plane's contract (spec 000 §1.2 IDaemonControlPlane, docs/ARCHITECTURE.md "Control plane"): JSON-RPC 2.0 over the Unix
 * socket, one JSON object per line. Method names, their params (validated with zod at the server boundary)
 * and result types live here; the server, the client and the CLI all import them.
 */
import * as z from 'zod/mini';
import '../zod-messages.ts';
import { ISOLATIONS } from '../design/manifest-schema.ts';
import type { TemplateInfo } from '../design/template-scan.ts';
import type { RemoteDesignState } from '../design/template-store.ts';
import type { BrokerGuardStatus, SystemdStatus } from './service-status.ts';
import type { AgentState, IAgentStatus, KillSignal, ResourceSummary } from '../supervisor/agent-status.ts';
import type { LogLine } from '../logging/log-line.ts';
import type { DeployListEntry, DeployOutcome, DeployProgress, DeployStats } from '../deploy/deploy-types.ts';
import type { DeviceListEntry } from '../../hal/device-list.ts';
import type { HalCallRow } from '../../hal/hal-call-stats.ts';

// Domain types live with their domain (docs/ARCHITECTURE.md "Layers"); the wire contract re-exports them unchanged.
export type { AgentState, IAgentStatus, KillSignal, ResourceSummary, ResourceTotals } from '../supervisor/agent-status.ts';
export type { LogLine } from '../logging/log-line.ts';
export type { DeviceListEntry } from '../../hal/device-list.ts';

export type BootPhaseName = 'control' | 'infrastructure' | 'board' | 'hal' | 'design' | 'master' | 'recovery' | 'rules';

export interface BootPhaseReport {
  name: BootPhaseName;
  state: 'pending' | 'running' | 'done' | 'failed' | 'degraded';
  startedAt?: string;
  durationMs?: number;
  detail?: string;
}

export interface DaemonStatus {
  version: string;
  deviceId: string;
  pid: number;
  state: 'booting' | 'ready' | 'stopping' | 'failed';
  /** The phase being run, or the last one that ran. */
  phase: BootPhaseName | 'ready';
  phases: BootPhaseReport[];
  board: { name: string; model?: string; detectedBy: 'config' | 'device-tree' | 'fallback' };
  /** Named flags for anything running in a reduced mode (e.g. a template excluded, cached templates). */
  degraded: string[];
  configFile?: string;
  home: string;
  socket: string;
  startedAt: string;
  uptimeMs: number;
  templates: { dir: string; valid: number; invalid: { file: string; error: string }[]; remote?: RemoteDesignStatus };
  infrastructure: { name: string; state: string }[];
  /**
   * The MQTT link: state ('connecting' | 'connected' | 'offline' | 'stopped', or 'absent' before the infrastructure
   * phase), URL (credentials removed), outbound queue counters, incoming drops; `broker` is the embedded broker.
   */
  /** Rules engine counters (events seen, fired, dropped by reason) and the MQTT inbound counters. */
  orchestration?: Record<string, unknown>;
  /** The last reload (SIGHUP, `openstarry reload`) since the boot, if any. */
  reload?: ReloadReport;
  /** Where the dashboard is served (`url`: the page), or why it is not; read-only without a token; its counters. */
  dashboard?: { listen?: string; error?: string; url?: string; readOnly?: boolean; stream?: object; actions?: object; sampler?: object };
  /** Isolation drivers this daemon offers, and why any other is not offered (docker without an engine). */
  isolation?: { drivers: string[]; unavailable: Record<string, string> };
  link: { state: string; url?: string; broker?: { state: string; host: string; port: number; clients: number; guard?: BrokerGuardStatus } } & Record<string, unknown>;
  /**
   * Home Assistant MQTT discovery (README "Home Assistant"), when `homeassistant.enabled`: entities announced, configs
   * published and removed, states published, commands received/applied/refused/malformed (runtime/homeassistant/).
   */
  homeassistant?: { enabled: true; error?: string } & Record<string, unknown>;
  /** Fleet deployments over MQTT (README "Deploying updates"), when on: groups, documents received, ignored, outcomes (runtime/fleet/). */
  fleet?: { error?: string } & Record<string, unknown>;
  /** The state DB and the abnormal-interruption scan (spec 002 phase 1.3) with what was restored. */
  recovery?: RecoveryReport;
  /** The state file's writes: `readOnly` (degraded `state-readonly`) while the home refuses them with EROFS. */
  stateDb?: { file: string; readOnly: boolean; failedWrites: number; lastError?: string };
  /**
   * sd_notify transport ('addon' | 'systemd-notify' | 'off', with why the addon is not used) and the watchdog
   * (runtime/daemon/systemd-service.ts).
   */
  systemd?: SystemdStatus;
  agents: Record<AgentState, number> & { total: number };
  /**
   * CPU, memory and tokens per isolation driver and in total (runtime/supervisor/resource-summary.ts). Optional
   * in the type only so older daemons' answers still parse; this daemon always sends it.
   */
  resources?: ResourceSummary;
  /** The control socket's connection guard (runtime/control/connection-guard.ts): open connections, closures. */
  control?: ControlSocketStats;
  /** HAL calls and refusals by device and operation, and operator commands applied/refused (also on `/metrics`). */
  hal?: { calls: HalCallRow[]; operator: { applied: number; refused: number } };
  /** The isolate channels' size cap (agents.maxMessageBytes) and how many agents it stopped since boot. */
  channels?: { maxMessageBytes: number; refused: number };
  /** Deployments on this board since boot (README "Deploying updates"): committed, rolled back, refused, in flight, the last one. */
  deploy?: DeployStats;
  masterPid?: string;
}

/** Control connections open, and those the guard closed (idle, slow request, evicted at the cap) or refused. */
export interface ControlSocketStats {
  connections: number;
  maxConnections: number;
  idleClosed: number;
  slowClosed: number;
  evicted: number;
  refused: number;
  followsRefused: number;
}

/**
 * What a reload did (SIGHUP / `systemctl reload`, or `openstarry reload`): the rules file, the local templates and the
 * dashboard's token file read and validated again. `errors` are `file: field: reason` lines, as `openstarry validate` prints them; a rules
 * file with errors leaves the running rules in place, a template that stopped validating keeps its last good version.
 */
export interface ReloadReport {
  /** When it finished (ISO). */
  at: string;
  trigger: 'signal' | 'control';
  ok: boolean;
  errors: string[];
  /** The rules in force afterwards, and whether this reload replaced them. */
  rules: { file: string; count: number; replaced: boolean };
  /** Valid templates afterwards, and the ids this reload added, changed, removed or kept at their last good version. */
  templates: { valid: number; added: string[]; changed: string[]; removed: string[]; kept: string[] };
  /**
   * The dashboard's bearer token, read again from `dashboard.tokenFile` (TokenReload): absent when the dashboard is
   * off; 'none' when it has no tokenFile or did not start. A file that no longer gives a token leaves the previous one
   * in force ('kept') and adds its error to `errors`.
   */
  dashboard?: { token: TokenReload };
}

/** What a reload did to the dashboard's token: a new value, the same, none configured, or kept after an error. */
export type TokenReload = 'rotated' | 'unchanged' | 'none' | 'kept';

export interface RecoveryReport {
  /** How the state file loaded: itself, its last-good backup after damage, or fresh. */
  stateFile: { source: 'file' | 'backup' | 'fresh'; reason?: string };
  previousRun: 'first-boot' | 'clean' | 'abnormal';
  reason?: string;
  /** Agents spawned again from the journal of desired agents. */
  restored: { agentId: string; pid: string; template: string }[];
  failed: { agentId: string; template: string; error: string }[];
}

/** A template as `templates.list` shows it (runtime/design/template-scan.ts). */
export type TemplateListEntry = TemplateInfo;

/** The remote design layer (`templates.url`) as the daemon last saw it. */
export type RemoteDesignStatus = RemoteDesignState;

export interface TemplatesResult {
  dir: string;
  templates: TemplateListEntry[];
  invalid: { file: string; error: string }[];
  remote?: RemoteDesignStatus;
}

const target = z.string().check(z.minLength(1), z.maxLength(4096));

export const methodParams = {
  spawnAgent: z.tuple([target, z.optional(z.strictObject({ isolation: z.optional(z.enum(ISOLATIONS)) }))]),
  killAgent: z.tuple([z.string().check(z.minLength(1), z.maxLength(128)), z.optional(z.enum(['SIGTERM', 'SIGKILL']))]),
  listAgents: z.tuple([]),
  status: z.tuple([]),
  'templates.list': z.tuple([]),
  'devices.list': z.tuple([]),
  'logs.read': z.tuple([z.string().check(z.minLength(1), z.maxLength(128)), z.optional(z.strictObject({ lines: z.optional(z.int().check(z.gte(1), z.lte(10_000))) }))]),
  'logs.follow': z.tuple([z.string().check(z.minLength(1), z.maxLength(128)), z.optional(z.strictObject({ lines: z.optional(z.int().check(z.gte(0), z.lte(10_000))) }))]),
  /** A boundary event as if it came from outside (`openstarry emit`); the orchestrator validates name and data. */
  'events.emit': z.tuple([z.string().check(z.minLength(1), z.maxLength(200)), z.optional(z.json())]),
  /** The same reload as SIGHUP; answers once it is done (after one already running, if any). */
  'daemon.reload': z.tuple([]),
  /**
   * `openstarry deploy` (README "Deploying updates"): an absolute bundle path (read by the daemon, capped at
   * deploy.maxBundleBytes) or `<templateId>@<version>` of a kept version; answers with the outcome once known.
   */
  'deploy.apply': z.tuple([target, z.optional(z.strictObject({ healthWindowMs: z.optional(z.int().check(z.gte(0), z.lte(3_600_000))) }))]),
  'deploy.list': z.tuple([]),
  'deploy.rollback': z.tuple([z.string().check(z.minLength(1), z.maxLength(128)), z.optional(z.strictObject({ healthWindowMs: z.optional(z.int().check(z.gte(0), z.lte(3_600_000))) }))]),
} as const;

export type MethodName = keyof typeof methodParams;

/**
 * Positional names of each method's params, so a request may also pass params by name (JSON-RPC 2.0 §4.2):
 * `{"pid":"3","signal":"SIGKILL"}` is read as `["3","SIGKILL"]` and then validated by the same tuple.
 */
export const methodParamNames: { readonly [M in MethodName]: readonly string[] } = {
  spawnAgent: ['target', 'options'],
  killAgent: ['pid', 'signal'],
  listAgents: [],
  status: [],
  'templates.list': [],
  'devices.list': [],
  'logs.read': ['target', 'options'],
  'logs.follow': ['target', 'options'],
  'events.emit': ['name', 'data'],
  'daemon.reload': [],
  'deploy.apply': ['target', 'options'],
  'deploy.list': [],
  'deploy.rollback': ['templateId', 'options'],
};
export type MethodParams<M extends MethodName> = z.output<(typeof methodParams)[M]>;

export interface MethodResults {
  spawnAgent: IAgentStatus;
  killAgent: IAgentStatus;
  listAgents: IAgentStatus[];
  status: DaemonStatus;
  'templates.list': TemplatesResult;
  'devices.list': DeviceListEntry[];
  'logs.read': LogLine[];
  /** Returns the backlog; then the server sends `logs.line` notifications with a LogLine until the client leaves. */
  'logs.follow': LogLine[];
  /** accepted: the orchestrator took it; fired: how many rules matched; reason: why it was dropped. */
  'events.emit': { accepted: boolean; fired: number; reason?: string };
  'daemon.reload': ReloadReport;
  'deploy.apply': DeployResult;
  'deploy.list': DeployListResult;
  'deploy.rollback': DeployResult;
}

/** A deployment's outcome and the progress it went through (runtime/deploy/deploy-types.ts). */
export interface DeployResult {
  outcome: DeployOutcome;
  progress: DeployProgress[];
}

/** Each deployed template's versions (`openstarry deploy list`). */
export interface DeployListResult {
  templates: DeployListEntry[];
}

/** What the daemon offers the control server; one implementation (runtime/daemon), tests can fake it. */
export interface DaemonApi {
  spawnAgent(target: string, options: { isolation?: (typeof ISOLATIONS)[number] }): Promise<IAgentStatus>;
  killAgent(pid: string, signal: KillSignal): Promise<IAgentStatus>;
  listAgents(): IAgentStatus[];
  status(): DaemonStatus;
  listTemplates(): TemplatesResult;
  listDevices(): DeviceListEntry[];
  readLogs(target: string, lines: number): LogLine[];
  /** Calls `listener` with every new line of that agent until the returned function is called. */
  followLogs(target: string, listener: (line: LogLine) => void): () => void;
  emitEvent(name: string, data: unknown): { accepted: boolean; fired: number; reason?: string };
  /** Rules file and local templates read again; ERR_NOT_READY while booting or stopping. */
  reload(): Promise<ReloadReport>;
  /** A deployment to its outcome (a refusal or rollback is an outcome, not an error). */
  deploy(target: string, options: { healthWindowMs?: number }, onProgress?: (p: DeployProgress) => void): Promise<DeployResult>;
  listDeployments(): Promise<DeployListResult>;
  rollbackDeployment(templateId: string, options: { healthWindowMs?: number }, onProgress?: (p: DeployProgress) => void): Promise<DeployResult>;
}

/** JSON-RPC 2.0 error codes (spec §5.1) plus the server-defined code for domain errors: in the error registry. */
export { JsonRpcCode as RpcCode } from '../core/error-registry.ts';

export interface RpcErrorObject {
  code: number;
  message: string;
  data: { code: string; details?: unknown };
}

export { MAX_REQUEST_BYTES } from './request-limit.ts';
