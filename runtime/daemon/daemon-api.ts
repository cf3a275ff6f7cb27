/**
 * What the control plane calls (DaemonApi, control/protocol.ts): spawn, kill, reload, emit, the device, agent and
 * template lists, logs and status. The boot phases and shutdown (daemon.ts, a subclass) build and tear down the
 * parts these methods read; a part not built yet answers ERR_NOT_READY (or an empty list), so `openstarry status`
 * works during the boot (docs/ARCHITECTURE.md "Boot sequence").
 */
import path from 'node:path';
import { hostname } from 'node:os';
import type { BoardDetection } from '../../board-profiles/detect.ts';
import type { BoardHal } from '../../hal/board-hal.ts';
import type { ControlServer } from '../control/control-server.ts';
import type { DaemonApi, DaemonStatus, DeployListResult, DeployResult, DeviceListEntry, IAgentStatus, KillSignal, LogLine, RecoveryReport, ReloadReport, TemplatesResult } from '../control/protocol.ts';
import { loadBlueprint } from '../design/blueprint.ts';
import type { Isolation } from '../design/manifest-schema.ts';
import { DEFAULT_MEMORY_MB } from '../design/manifest-schema.ts';
import type { TemplateStore } from '../design/template-store.ts';
import { ErrorCode, OpenStarryError } from '../errors.ts';
import type { IIsolationDriver } from '../isolation/isolation-driver.ts';
import { AgentLogBook } from '../logging/agent-log-book.ts';
import type { Logger } from '../logging/logger.ts';
import { formatFields } from '../logging/logger.ts';
import { OrchestrationHub } from '../orchestrator/orchestration-hub.ts';
import type { EmitResult } from '../orchestrator/orchestrator.ts';
import type { Supervisor } from '../supervisor/supervisor.ts';
import type { MetricsSnapshot } from '../dashboard/metrics-snapshot.ts';
import { BootReport } from './boot-report.ts';
import type { LoadedConfig } from './config-loader.ts';
import type { DaemonInfrastructure } from './daemon-infrastructure.ts';
import type { HomeAssistantPart } from './homeassistant-wiring.ts';
import type { FleetPart } from './fleet-wiring.ts';
import { composeStatus, templatesResult, unavailableIsolation } from './daemon-status.ts';
import type { Reloader } from './reload.ts';
import type { SystemdService } from './systemd-service.ts';
import { VERSION } from '../version.ts';
import type { DeployBoot } from '../deploy/deploy-recovery.ts';
import type { Deployer, DeployProgress } from '../deploy/deploy-types.ts';
import type { DeployWiring } from './deploy-wiring.ts';

/**
 * A spawn of `target` is about to read its blueprint: its likely isolate starts booting meanwhile (Supervisor.prewarm,
 * issue 12). The template's manifest as the store has it says which isolation and memory class (an id the store does
 * not know starts nothing, nor does a template whose agent is live: that spawn ends in ERR_AGENT_EXISTS); a manifest
 * file is guessed to have the defaults.
 */
export function prewarmFor(supervisor: Supervisor, store: TemplateStore, target: string, isolation?: Isolation): void {
  const known = path.isAbsolute(target) ? undefined : store.peek(target);
  if (!path.isAbsolute(target) && (!known || supervisor.findLive(known.manifest.id))) return;
  supervisor.prewarm(isolation ?? known?.manifest.isolation ?? 'worker', known?.manifest.limits.memoryMb ?? DEFAULT_MEMORY_MB);
}

export abstract class DaemonControlApi implements DaemonApi {
  protected readonly log: Logger;
  protected readonly bootReport: BootReport;
  protected readonly startedAt = Date.now();
  protected readonly home: string;
  protected readonly socket: string;
  protected state: DaemonStatus['state'] = 'booting';
  protected loaded: LoadedConfig | undefined;
  protected board: BoardDetection | undefined;
  protected store: TemplateStore | undefined;
  protected supervisor: Supervisor | undefined;
  protected control: ControlServer | undefined;
  protected logBook = new AgentLogBook();
  protected masterPid: string | undefined;
  /** READY=1, the watchdog, STOPPING=1 (sd_notify(3)). */
  protected readonly systemd: SystemdService;
  protected hal: BoardHal | undefined;
  /** The infrastructure plugins (state DB, MQTT, docker engine, dashboard) and their runner. */
  protected infra: DaemonInfrastructure | undefined;
  protected readonly rules = new OrchestrationHub();
  protected reloader: Reloader | undefined;
  protected recovery: RecoveryReport | undefined;
  /** Home Assistant discovery, when `homeassistant.enabled` (homeassistant-wiring.ts, loaded lazily). */
  protected homeassistant: HomeAssistantPart | undefined;
  /** Fleet deployments over MQTT, when on (fleet-wiring.ts, loaded lazily). */
  protected fleet: FleetPart | undefined;
  protected drivers: readonly IIsolationDriver[] = [];
  /** Deployments on this board (README "Deploying updates"): what the deployer needs, set once the boot has the parts. */
  protected deployWiring: (() => DeployWiring) | undefined;
  /** The deployer, opened at boot when a journal exists, else at the first deployment (deploy-wiring.ts). */
  protected deployBoot: Promise<DeployBoot> | undefined;
  #deployBootDone: DeployBoot | undefined;
  /** Set by closeDeployments(): a deployer opened after it is closed at once. */
  #deploymentsClosed = false;

  constructor(parts: { log: Logger; home: string; socket: string; systemd: SystemdService }) {
    this.log = parts.log;
    this.bootReport = new BootReport(parts.log.child('boot'));
    this.home = parts.home;
    this.socket = parts.socket;
    this.systemd = parts.systemd;
  }

  async spawnAgent(target: string, options: { isolation?: Isolation }): Promise<IAgentStatus> {
    const { supervisor, store } = this.requireReady();
    prewarmFor(supervisor, store, target, options.isolation);
    if (path.isAbsolute(target)) {
      const blueprint = await loadBlueprint(target);
      return supervisor.spawn(blueprint, options.isolation ? { template: target, isolation: options.isolation } : { template: target });
    }
    // Read again at spawn: a template edited since boot applies to agents spawned from now on (spec 002).
    const blueprint = await store.fresh(target);
    return supervisor.spawn(blueprint, options.isolation ? { template: target, isolation: options.isolation } : { template: target });
  }

  async killAgent(pid: string, signal: KillSignal): Promise<IAgentStatus> {
    if (!this.supervisor) throw new OpenStarryError(ErrorCode.AGENT_NOT_FOUND, `no agent with pid ${pid}`);
    return this.supervisor.kill(pid, signal);
  }

  /** `openstarry reload` (trigger 'control') and SIGHUP ('signal'); ERR_NOT_READY while booting or stopping. */
  async reload(trigger: ReloadReport['trigger'] = 'control'): Promise<ReloadReport> {
    this.requireReady();
    return this.reloader!.request(trigger);
  }

  /** SIGHUP (`systemctl reload`): a reload, or a logged no-op during boot and shutdown. Never throws. */
  hangup(): void {
    this.reload('signal').catch((err: Error) => this.log.warn(`SIGHUP ignored: ${err.message}`));
  }

  /** `openstarry deploy <bundle | templateId@version>`: each step to `onProgress` as it happens, the outcome once known (README "Deploying updates"). */
  async deploy(target: string, options: { healthWindowMs?: number }, onProgress?: (p: DeployProgress) => void): Promise<DeployResult> {
    const { wiring, boot } = await this.#deployer();
    const { applyDeployment } = await import('./deploy-wiring.ts');
    return applyDeployment(boot.deployer, wiring, target, options.healthWindowMs, onProgress);
  }

  async listDeployments(): Promise<DeployListResult> {
    return { templates: (await this.#deployer()).boot.deployer.list() };
  }

  async rollbackDeployment(templateId: string, options: { healthWindowMs?: number }, onProgress?: (p: DeployProgress) => void): Promise<DeployResult> {
    const { boot } = await this.#deployer();
    const { cliDeployOptions } = await import('./deploy-wiring.ts');
    const { options: deployOptions, progress } = cliDeployOptions(options.healthWindowMs, onProgress);
    const outcome = await boot.deployer.rollback(templateId, deployOptions);
    return { outcome, progress };
  }

  /** The board's Deployer for the fleet part (runtime/fleet/, issue 16), opened on first use; ERR_NOT_READY while booting. */
  protected async boardDeployer(): Promise<Deployer> {
    return (await this.#deployer()).boot.deployer;
  }

  async #deployer(): Promise<{ wiring: DeployWiring; boot: DeployBoot }> {
    this.requireReady();
    const wiring = this.deployWiring!();
    if (!this.deployBoot) {
      const { openBoardDeployer } = await import('./deploy-wiring.ts');
      this.deployBoot ??= openBoardDeployer(wiring);
    }
    // A journal that failed to open is tried again at the next call, not kept as a rejected promise.
    const boot = await this.deployBoot.catch((err: unknown) => {
      this.deployBoot = undefined;
      throw err;
    });
    this.#deployBootDone = boot;
    if (this.#deploymentsClosed) await boot.deployer.close();
    return { wiring, boot };
  }

  /**
   * The shutdown's first step: a deployment in flight ends `interrupted`, before the agents it watches are stopped
   * (runtime/deploy/deployer.ts close() says why; README "Deploying updates"). Resolves once the deployer is quiet.
   */
  protected async closeDeployments(): Promise<void> {
    this.#deploymentsClosed = true;
    const boot = await this.deployBoot?.catch(() => undefined);
    await boot?.deployer.close();
  }

  /** The deploy counters for `status` (zeros until the deployer is opened). */
  protected deployStats(): NonNullable<DaemonStatus['deploy']> {
    return this.#deployBootDone?.deployer.stats() ?? { applied: 0, rolledBack: 0, refused: 0, interrupted: 0, inFlight: [] };
  }

  /** The boot's deployer once opened (daemon.ts records it after the recovery phase). */
  protected set deployOpened(boot: DeployBoot) {
    this.#deployBootDone = boot;
  }

  emitEvent(name: string, data: unknown): EmitResult {
    this.requireReady();
    return this.rules.emit(name, data);
  }

  listDevices(): DeviceListEntry[] {
    if (!this.hal) throw new OpenStarryError(ErrorCode.NOT_READY, `the HAL is not open yet (boot phase: ${this.bootReport.current})`);
    return this.hal.service.devices();
  }

  listAgents(): IAgentStatus[] {
    return this.supervisor?.list() ?? [];
  }

  listTemplates(): TemplatesResult {
    const store = this.store;
    if (!store) throw new OpenStarryError(ErrorCode.NOT_READY, `the design layer is not loaded yet (boot phase: ${this.bootReport.current})`);
    return templatesResult(store);
  }

  readLogs(target: string, lines: number): LogLine[] {
    if (!this.logBook.knows(target) && !this.supervisor?.get(target) && !this.supervisor?.findLive(target)) {
      throw new OpenStarryError(ErrorCode.AGENT_NOT_FOUND, `no agent or logs for "${target}"`);
    }
    return this.logBook.read(target, lines);
  }

  followLogs(target: string, listener: (line: LogLine) => void): () => void {
    return this.logBook.follow(target, listener);
  }

  status(): DaemonStatus {
    const orchestration = this.rules.status();
    const status = composeStatus({
      deviceId: this.deviceId(),
      state: this.state,
      boot: this.bootReport,
      home: this.home,
      socket: this.socket,
      startedAt: this.startedAt,
      agents: this.listAgents(),
      drivers: this.drivers.map((d) => d.name),
      unavailableIsolation: unavailableIsolation(this.infra?.docker.unavailable, this.drivers),
      ...(this.loaded?.file ? { configFile: this.loaded.file } : {}),
      ...(this.masterPid ? { masterPid: this.masterPid } : {}),
      ...(this.board ? { board: this.board } : {}),
      ...(this.store ? { store: this.store } : {}),
      ...(this.hal ? { hal: this.hal } : {}),
      ...(this.infra ? { infra: this.infra.runner, mqtt: this.infra.mqtt, docker: this.infra.docker, stateDb: this.infra.stateDb, ...(this.infra.dashboard ? { dashboard: this.infra.dashboard } : {}) } : {}),
      ...(orchestration ? { orchestration } : {}),
      ...(this.reloader?.last ? { reload: this.reloader.last } : {}),
      ...(this.recovery ? { recovery: this.recovery } : {}),
      ...(this.homeassistant ? { homeassistant: this.homeassistant } : {}),
      ...(this.fleet ? { fleet: this.fleet } : {}),
      systemd: this.systemd.status(),
      ...(this.control ? { control: this.control.stats() } : {}),
      ...(this.supervisor ? { channels: this.supervisor.channels } : {}),
    });
    return { ...status, deploy: this.deployStats() };
  }

  /** GET /metrics (issue 15): the counters status, ps and devices show, as one snapshot; the mapping loads at the first scrape. */
  protected async metricsSnapshot(): Promise<MetricsSnapshot> {
    const { metricsSnapshot } = await import('./daemon-metrics.ts');
    return metricsSnapshot({
      version: VERSION,
      deviceId: this.deviceId(),
      board: this.board?.profile.name ?? 'unknown',
      phases: this.bootReport.phases(),
      readyAfterMs: this.bootReport.readyAfterMs,
      agents: this.listAgents(),
      devices: this.hal?.service.devices(),
      halCalls: this.hal?.service.callStats(),
      link: this.infra?.mqtt.link.status(),
      rules: this.rules.stats(),
    });
  }

  protected deviceId(): string {
    return this.loaded?.config.deviceId ?? hostname();
  }

  protected requireReady(): { supervisor: Supervisor; store: TemplateStore } {
    if (this.state !== 'ready' || !this.supervisor || !this.store) {
      throw new OpenStarryError(ErrorCode.NOT_READY, this.state === 'stopping' ? 'the daemon is shutting down' : `the daemon is still booting (phase ${this.bootReport.current})`);
    }
    return { supervisor: this.supervisor, store: this.store };
  }

  protected onAgentLog(line: LogLine): void {
    this.logBook.append(line);
    this.log.child('agent')[line.level](`${line.agentId}[${line.pid}] ${line.message}${formatFields(line.fields)}`);
  }
}
