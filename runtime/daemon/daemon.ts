/**
 * openstarryd: boots in the order of spec 002 (phases 1-3), then serves the control plane.
 *
 *   control         open the control socket first, so `openstarry status` can watch the boot (and a second
 *                   daemon on the same socket fails fast before touching anything)
 *   infrastructure  infrastructure plugins in configured order (phase 1.2)
 *   board           detect the board from the device tree; nothing known -> the simulated board
 *   design          the design layer: every template validated; invalid ones reported and excluded (phase 2)
 *   master          fetch the master blueprint and spawn it; READY=1 to systemd once it is online (phase 3)
 *
 * Shutdown (SIGTERM/SIGINT): agents stop in reverse start order, then infrastructure in reverse, then the socket.
 */
import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { detectBoard, loadProfiles } from '../../board-profiles/detect.ts';
import type { BoardDetection } from '../../board-profiles/detect.ts';
import type { Clock } from '../clock.ts';
import { systemClock } from '../clock.ts';
import { openBoardHal } from '../../hal/board-hal.ts';
import type { BoardHal } from '../../hal/board-hal.ts';
import { ControlServer } from '../control/control-server.ts';
import type { AgentState, BootPhaseName, DaemonApi, DaemonStatus, DeviceListEntry, IAgentStatus, KillSignal, LogLine, RecoveryReport, TemplatesResult } from '../control/protocol.ts';
import { serveAgentState } from '../state/agent-state-service.ts';
import { restoreAgents } from './recovery.ts';
import { serveAgentManager } from './agent-manager-service.ts';
import { StateDbPlugin } from '../state/state-db-plugin.ts';
import type { MqttInfrastructure } from '../link/link-plugin.ts';
import type { MqttLink } from '../link/mqtt-link.ts';
import { createMqttInfrastructure, embeddedBrokerOverride } from '../link/link-plugin.ts';
import { loadBlueprint, normalise } from '../design/blueprint.ts';
import { contentHash } from '../state/state-registry.ts';
import type { Isolation } from '../design/manifest-schema.ts';
import { TemplateStore } from '../design/template-store.ts';
import { ErrorCode, OpenStarryError } from '../errors.ts';
import type { IIsolationDriver } from '../isolation/isolation-driver.ts';
import { ProcessDriver } from '../isolation/process/process-driver.ts';
import { WasmDriver } from '../isolation/wasm/wasm-driver.ts';
import { WorkerDriver } from '../isolation/worker/worker-driver.ts';
import { AgentLogBook } from '../logging/agent-log-book.ts';
import type { Logger } from '../logging/logger.ts';
import { createLogger, formatFields } from '../logging/logger.ts';
import { resourceSummary } from '../supervisor/resource-summary.ts';
import { Supervisor } from '../supervisor/supervisor.ts';
import { BootReport } from './boot-report.ts';
import type { LoadedConfig } from './config-loader.ts';
import { loadConfig } from './config-loader.ts';
import type { InfrastructurePlugin } from './infrastructure.ts';
import { InfrastructureRunner } from './infrastructure.ts';
import { agentHome, packageRoot, resolveHome, resolveSocket } from './paths.ts';
import type { SdNotifier } from './sd-notify.ts';
import { createSdNotifier } from './sd-notify.ts';
import { DockerIsolationPlugin } from './docker-isolation.ts';
import { TolerantDashboard, linkPublisher, registryHal, subscribeInboundEvents } from './orchestration-wiring.ts';
import type { InboundEventCounters } from './orchestration-wiring.ts';
import { createDashboardServer, deferredDashboardSources } from '../orchestrator/dashboard-server.ts';
import type { Orchestration } from '../orchestrator/orchestration-service.ts';
import { startOrchestration } from '../orchestrator/orchestration-service.ts';
import type { EmitResult } from '../orchestrator/orchestrator.ts';
import { serveRemoteCommands } from '../link/remote-commands.ts';
import type { RemoteCommandCounters } from '../link/remote-commands.ts';
import type { ChannelEndpoint } from '../core/channel-endpoint.ts';
import type { Blueprint } from '../design/blueprint.ts';
import type { JsonValue } from '../core/plugin.ts';
import { VERSION } from './version.ts';

/** How often the remote design layer's listing is fetched again. */
const DESIGN_RESYNC_MS = 5 * 60_000;

export interface DaemonOptions {
  configFile?: string;
  socket?: string;
  env?: Readonly<Record<string, string | undefined>>;
  log?: Logger;
  /** Root the device tree is read under ('/' on a board). */
  deviceTreeRoot?: string;
  /** Root /sys/class/gpio is read under ('/' on a board). */
  sysRoot?: string;
  drivers?: readonly IIsolationDriver[];
  infrastructure?: readonly InfrastructurePlugin[];
  notifier?: SdNotifier;
  clock?: Clock;
}

export class Daemon implements DaemonApi {
  readonly #opts: DaemonOptions;
  readonly #log: Logger;
  readonly #boot: BootReport;
  readonly #startedAt = Date.now();
  readonly #home: string;
  readonly #socket: string;
  #state: DaemonStatus['state'] = 'booting';
  #loaded: LoadedConfig | undefined;
  #board: BoardDetection | undefined;
  #store: TemplateStore | undefined;
  #infra: InfrastructureRunner | undefined;
  #supervisor: Supervisor | undefined;
  #control: ControlServer | undefined;
  #logBook = new AgentLogBook();
  #masterPid: string | undefined;
  #notifier: SdNotifier;
  #hal: BoardHal | undefined;
  #stateDb: StateDbPlugin | undefined;
  #mqtt: MqttInfrastructure | undefined;
  #docker: DockerIsolationPlugin | undefined;
  #dashboard: TolerantDashboard | undefined;
  readonly #dashSources = deferredDashboardSources();
  #orchestration: Orchestration | undefined;
  /** Live isolates' channels, so orchestration (started after the master) can serve ctx.events to every one. */
  readonly #attached = new Map<string, { blueprint: Blueprint; channel: ChannelEndpoint }>();
  #inbound: { counters: InboundEventCounters; close(): void } | undefined;
  #remoteCommands: { counters: RemoteCommandCounters; close(): void } | undefined;
  #resyncTimer: ReturnType<typeof setInterval> | undefined;
  #recovery: RecoveryReport | undefined;
  #drivers: readonly IIsolationDriver[] = [];
  readonly #clock: Clock;
  #booting: Promise<void> | undefined;
  #stopRequested = false;
  #tearingDown: Promise<void> | undefined;

  constructor(options: DaemonOptions = {}) {
    this.#opts = options;
    const env = options.env ?? process.env;
    this.#log = options.log ?? createLogger('openstarryd');
    this.#boot = new BootReport(this.#log.child('boot'));
    this.#home = resolveHome(env);
    this.#socket = resolveSocket(env, this.#home, options.socket);
    this.#notifier = options.notifier ?? createSdNotifier({ env });
    this.#clock = options.clock ?? systemClock;
  }

  get socketPath(): string {
    return this.#socket;
  }

  /** Runs the boot phases; throws (after undoing what it started) when one fails or a shutdown interrupts it. */
  boot(): Promise<void> {
    this.#booting ??= this.#bootPhases().catch(async (err: unknown) => {
      if (!this.#stopRequested) this.#state = 'failed';
      // Not a clean run: the next boot must still restore what the previous one was running.
      this.#stateDb?.withholdCleanMark();
      await this.#teardown();
      throw err;
    });
    return this.#booting;
  }

  async #bootPhases(): Promise<void> {
    this.#loaded = await loadConfig(this.#opts.configFile, this.#opts.env ?? process.env);
    const { config } = this.#loaded;
    if (!this.#opts.log) this.#log.setLevel(config.log.level);
    this.#logBook = new AgentLogBook(config.agents.logLines);
    await mkdir(this.#home, { recursive: true });
    await this.#phase('control', async () => {
      this.#control = await ControlServer.listen({ socketPath: this.#socket, api: this, log: (level, msg) => this.#log.child('control')[level](msg) });
    }, () => ({ detail: this.#socket }));
    // The isolation drivers exist from here on, so the master's worker thread boots (as a spare) while the board,
    // HAL and design phases run; the master phase then only hands it the blueprint.
    this.#drivers = this.#opts.drivers ?? [new WorkerDriver({ warmSpares: config.agents.warmSpares, bootSpares: 1 }), new ProcessDriver(), new WasmDriver()];
    // The state DB is the first infrastructure plugin: open before anything hydrates from it, stopped last.
    const stateDb = (this.#stateDb = new StateDbPlugin({ file: path.join(this.#home, 'state.json'), clock: this.#clock, log: this.#log.child('state') }));
    // Then the embedded broker (no mqtt.url) and the MQTT link: started after the state DB, stopped before it; the
    // link's start waits at most mqtt.startWaitMs for a broker, then boots on offline (QoS 1 goes to the queue).
    // A taken broker port is not fatal: the board runs without MQTT and `status` says why.
    const env = this.#opts.env ?? process.env;
    const mqtt = (this.#mqtt = createMqttInfrastructure({
      config: embeddedBrokerOverride(config.mqtt, env.OPENSTARRY_EMBEDDED_BROKER),
      deviceId: this.#deviceId(),
      version: VERSION,
      home: this.#home,
      log: this.#log.child('mqtt'),
      clock: this.#clock,
      portInUse: 'skip',
    }));
    const docker = (this.#docker = new DockerIsolationPlugin({ config: config.isolation.docker, home: this.#home, daemonId: this.#deviceId(), env, log: this.#log.child('docker') }));
    const dashboard = config.dashboard.enabled
      ? (this.#dashboard = new TolerantDashboard(createDashboardServer({ listen: env.OPENSTARRY_DASHBOARD || config.dashboard.listen, sources: this.#dashSources, log: this.#log.child('dashboard') }), this.#log.child('dashboard')))
      : undefined;
    const infra = (this.#infra = new InfrastructureRunner([stateDb, ...mqtt.plugins, docker, ...(dashboard ? [dashboard] : []), ...(this.#opts.infrastructure ?? [])], this.#log.child('infra')));
    await this.#phase('infrastructure', () => infra.startAll(), () => ({ detail: `${infra.states().length} plugin(s)`, degraded: docker.degraded }));
    if (docker.driver && !this.#opts.drivers) this.#drivers = [...this.#drivers, docker.driver];
    const board = (this.#board = await this.#phase('board', async () => detectBoard(config.board, await loadProfiles(path.join(packageRoot(), 'board-profiles')), this.#opts.deviceTreeRoot ?? '/'),
      (b) => ({ detail: `${b.profile.name} (${b.detectedBy}${b.model ? `: ${b.model}` : ''})` })));
    this.#hal = await this.#phase('hal', () => openBoardHal({
      profile: board.profile,
      configDevices: config.devices,
      ...(this.#loaded?.file ? { configFile: this.#loaded.file } : {}),
      clock: this.#clock,
      log: this.#log.child('hal'),
      ...(this.#opts.sysRoot ? { sysRoot: this.#opts.sysRoot } : {}),
    }), (h) => {
      const devices = h.registry.list();
      const failed = devices.filter((d) => !d.device).length;
      return { detail: `${devices.length} device(s)${failed ? `, ${failed} failed` : ''}`, degraded: failed > 0 };
    });
    const dir = config.templates.dir ? path.resolve(this.#loaded.baseDir, config.templates.dir) : path.join(packageRoot(), 'agents');
    const designLog = this.#log.child('design');
    const remote = config.templates.url ? { url: config.templates.url, timeoutMs: config.templates.timeoutMs, cacheDir: path.join(this.#home, 'design-cache') } : undefined;
    this.#store = await this.#phase('design', () => TemplateStore.open(dir, { ...(remote ? { remote } : {}), warn: (m) => designLog.warn(m) }), (s) => {
      for (const bad of s.invalid) this.#log.warn(`template excluded: ${bad.error}`);
      const r = s.remoteState();
      const from = r ? `${s.dir} and ${r.url} (${r.state === 'synced' ? 'synced' : `unreachable, ${r.templates} from the cache`})` : s.dir;
      return { detail: `${s.list().length} valid, ${s.invalid.length} excluded, from ${from}`, degraded: s.invalid.length > 0 || r?.state === 'unreachable' };
    });
    this.#recordRegistry(stateDb, this.#store);
    if (remote) {
      // The service's listing again every few minutes: templates added there appear, and `status` follows the
      // service going and coming even when nothing is spawned (a spawn checks it anyway).
      const store = this.#store;
      this.#resyncTimer = setInterval(() => void store.resync(), DESIGN_RESYNC_MS);
      this.#resyncTimer.unref();
    }
    const hal = this.#hal.service;
    this.#supervisor = new Supervisor({
      drivers: this.#drivers,
      unavailable: () => this.#unavailableIsolation(),
      hooks: {
        admit: (pid, blueprint) => hal.admit(pid, blueprint.manifest.id, blueprint.manifest.capabilities),
        attach: (pid, isolate, blueprint) => {
          hal.attach(pid, isolate.channel);
          this.#attached.set(pid, { blueprint, channel: isolate.channel });
          this.#orchestration?.serveAgent(blueprint, pid, isolate.channel);
          serveAgentState(blueprint.manifest.id, isolate.channel, stateDb.db, this.#log.child('state'));
          serveAgentManager(blueprint, pid, isolate.channel, {
            template: (id) => this.#store!.fresh(id),
            spawn: (b, templateId) => this.#supervisor!.spawn(b, { template: templateId }),
            kill: (target) => this.#supervisor!.kill(target, 'SIGTERM'),
            list: () => this.listAgents(),
            log: this.#log.child('agents'),
          });
        },
        detach: async (pid) => {
          this.#attached.delete(pid);
          this.#orchestration?.detachAgent(pid);
          await hal.detach(pid);
        },
        release: (pid) => hal.release(pid),
      },
      agentHome: (id) => agentHome(this.#home, id),
      log: this.#log.child('supervisor'),
      stopGraceMs: config.agents.stopGraceMs,
      startTimeoutMs: config.agents.startTimeoutMs,
      usageIntervalMs: config.agents.usageIntervalMs,
      cpuLimitWindowMs: config.agents.cpuLimitWindowMs,
      onLogLine: (line) => this.#onAgentLog(line),
      onChange: (status) => {
        this.#journalDesired();
        this.#orchestration?.onAgentChange(status);
      },
      clock: this.#clock,
    });
    await this.#phase('master', () => this.#spawnMaster(config.masterAgent), (s) => ({ detail: `${s.agentId} running as pid ${s.pid}` }));
    const supervisor = this.#supervisor;
    const store = this.#store;
    this.#recovery = await this.#phase('recovery', () => restoreAgents({ stateDb, supervisor, store, masterAgent: config.masterAgent, log: this.#log.child('recovery') }), (r) => ({
      detail: `previous run ${r.previousRun}${r.reason ? ` (${r.reason})` : ''}; state from ${r.stateFile.source}; ${r.restored.length} agent(s) restored${r.failed.length ? `, ${r.failed.length} failed` : ''}`,
      degraded: r.failed.length > 0 || r.stateFile.source === 'backup',
    }));
    await this.#phase('rules', () => this.#startOrchestration(config, supervisor, store), (o) => ({ detail: `${o.rules.rules.length} rule(s) from ${o.rules.file}` }));
    this.#boot.ready();
    this.#state = 'ready';
    this.#journalDesired(); // the first write of this run's list: the master, the restored agents
    this.#log.info(`ready in ${Date.now() - this.#startedAt} ms`, { board: board.profile.name, master: this.#masterPid, socket: this.#socket });
    // Not awaited: systemd-notify waits for the manager's barrier, and nothing here depends on it.
    void this.#notifier.notify({ READY: '1', STATUS: `ready; master agent pid ${this.#masterPid}` }).catch((err: Error) => this.#log.warn(`sd_notify failed: ${err.message}`));
  }

  /**
   * The registry service (spec 000 §1.1): the templates the design layer validated and the plugin modules they
   * load, each with id, version, path and content hash, kept in the state DB so a later run (or a remote
   * operator) can tell exactly what was installed.
   */
  #recordRegistry(stateDb: StateDbPlugin, store: TemplateStore): void {
    const templates = store.list().map((t) => ({ id: t.id, version: t.version, path: t.path, hash: `sha256:${t.hash}` }));
    const plugins = store.blueprints().flatMap((b) =>
      b.manifest.plugins.map((rel) => ({ id: `${b.manifest.id}/${normalise(rel)}`, version: b.manifest.version, path: path.join(b.rootDir, rel), hash: contentHash(b.files[normalise(rel)] ?? '') })),
    );
    try {
      stateDb.db.registry.replace('templates', templates);
      stateDb.db.registry.replace('plugins', plugins);
    } catch (err) {
      this.#log.warn(`registry not recorded: ${(err as Error).message}`);
    }
  }

  /**
   * Rules and the state projection (DESIGN §4 "then rules"), after the master and the recovered agents, so a rule
   * never races the boot. Every live isolate gets ctx.events now; later ones from the attach hook.
   */
  async #startOrchestration(config: LoadedConfig['config'], supervisor: Supervisor, store: TemplateStore): Promise<Orchestration> {
    const rulesFile = config.orchestration.rules;
    const registry = this.#hal!.registry;
    const link = (): MqttLink | undefined => {
      try {
        return this.#mqtt?.link.link;
      } catch {
        return undefined; // the link plugin did not start
      }
    };
    const o = await startOrchestration({
      deviceId: this.#deviceId(),
      config: config.orchestration,
      ...(rulesFile ? { rulesPath: path.resolve(this.#loaded!.baseDir, rulesFile) } : {}),
      log: this.#log.child('orchestrator'),
      clock: this.#clock,
      supervisor,
      template: (id) => store.fresh(id),
      snapshot: (pid) => {
        const channel = this.#attached.get(pid)?.channel;
        return channel ? channel.request('agent.snapshot') : Promise.reject(new Error(`no isolate for pid ${pid}`));
      },
      hal: registryHal(registry),
      link: linkPublisher(link, this.#log.child('projection')),
    });
    this.#orchestration = o;
    for (const [pid, { blueprint, channel }] of this.#attached) o.serveAgent(blueprint, pid, channel);
    for (const a of supervisor.list()) o.onAgentChange(a);
    this.#dashSources.bind(o.dashboardSources());
    const l = link();
    if (l) {
      this.#inbound = subscribeInboundEvents(l, (e) => o.emit(e), this.#log.child('mqtt'));
      this.#remoteCommands = serveRemoteCommands({ link: l, api: this, allow: config.mqtt.commands, log: this.#log.child('mqtt') });
    }
    return o;
  }

  /**
   * The desired-agents journal follows the live agents once the boot is complete — not during it (the previous run's
   * list is what recovery restores, and a boot that fails must leave it for the next attempt) and not during shutdown
   * (a clean stop keeps the list).
   */
  #journalDesired(): void {
    if (this.#state !== 'ready' || this.#stopRequested || !this.#supervisor || !this.#stateDb) return;
    const desired = this.#supervisor
      .list()
      .filter((a) => a.state !== 'exited' && a.state !== 'crashed')
      .map((a) => ({ agentId: a.agentId, template: a.template, pid: a.pid, since: Date.parse(a.startedAt) }));
    try {
      this.#stateDb.db.journal.setDesired(desired);
    } catch (err) {
      this.#log.warn(`journal not updated: ${(err as Error).message}`);
    }
  }

  /** One boot phase; a shutdown requested meanwhile stops the boot before the next phase starts. */
  async #phase<T>(name: BootPhaseName, body: () => Promise<T>, describe?: (result: T) => { detail: string; degraded?: boolean }): Promise<T> {
    if (this.#stopRequested) throw new OpenStarryError(ErrorCode.BOOT_FAILED, `boot interrupted by shutdown before phase ${name}`);
    return this.#boot.run(name, body, describe);
  }

  async #spawnMaster(templateId: string): Promise<IAgentStatus> {
    const store = this.#store!;
    let blueprint;
    try {
      blueprint = store.get(templateId);
    } catch (err) {
      throw new OpenStarryError(ErrorCode.BOOT_FAILED, `master agent template "${templateId}" is not usable: ${(err as Error).message}`, { cause: err });
    }
    const status = await this.#supervisor!.spawn(blueprint, { template: templateId });
    this.#masterPid = status.pid;
    if (status.state !== 'running') {
      throw new OpenStarryError(ErrorCode.BOOT_FAILED, `master agent "${templateId}" did not come online: ${status.state}${status.reason ? ` (${status.reason})` : ''}`);
    }
    return status;
  }

  /**
   * Stops the daemon: agents in reverse start order (within agents.shutdownTimeoutMs), the HAL (every actuator to
   * its safe state, devices closed), infrastructure in reverse, then the control socket. During boot it lets the
   * running phase finish and stops the boot before the next one. Idempotent.
   */
  async shutdown(): Promise<void> {
    this.#stopRequested = true;
    if (this.#booting) await this.#booting.catch(() => undefined);
    await this.#teardown();
  }

  #teardown(): Promise<void> {
    this.#tearingDown ??= (async () => {
      if (this.#state !== 'failed') this.#state = 'stopping';
      const began = Date.now();
      this.#log.info('shutting down');
      void this.#notifier.notify({ STOPPING: '1' }).catch(() => undefined);
      clearInterval(this.#resyncTimer);
      // Nothing new comes in while the agents stop: no remote commands or events, no rules firing.
      this.#remoteCommands?.close();
      this.#inbound?.close();
      await this.#orchestration?.close();
      this.#dashSources.bind(undefined);
      // One budget for the whole shutdown (below systemd's TimeoutStopSec): draining in-flight rule spawns above counts.
      const budget = this.#loaded?.config.agents.shutdownTimeoutMs;
      if (this.#supervisor) await this.#supervisor.stopAll(budget === undefined ? undefined : Math.max(1000, budget - (Date.now() - began)));
      else for (const driver of this.#drivers) await driver.close?.(); // boot ended before the supervisor existed
      await this.#hal?.close();
      await this.#infra?.stopAll();
      await this.#control?.close();
      this.#log.info('stopped');
    })();
    return this.#tearingDown;
  }

  // ---- DaemonApi (the control plane calls these) ----

  async spawnAgent(target: string, options: { isolation?: Isolation }): Promise<IAgentStatus> {
    const { supervisor, store } = this.#ready();
    if (path.isAbsolute(target)) {
      const blueprint = await loadBlueprint(target);
      return supervisor.spawn(blueprint, options.isolation ? { template: target, isolation: options.isolation } : { template: target });
    }
    // Read again at spawn: a template edited since boot applies to agents spawned from now on (spec 002).
    const blueprint = await store.fresh(target);
    return supervisor.spawn(blueprint, options.isolation ? { template: target, isolation: options.isolation } : { template: target });
  }

  async killAgent(pid: string, signal: KillSignal): Promise<IAgentStatus> {
    if (!this.#supervisor) throw new OpenStarryError(ErrorCode.AGENT_NOT_FOUND, `no agent with pid ${pid}`);
    return this.#supervisor.kill(pid, signal);
  }

  emitEvent(name: string, data: unknown): EmitResult {
    this.#ready();
    const o = this.#orchestration;
    if (!o) throw new OpenStarryError(ErrorCode.NOT_READY, 'orchestration is not running');
    return o.emit(data === undefined ? { name, source: 'cli' } : { name, data: data as JsonValue, source: 'cli' });
  }

  listDevices(): DeviceListEntry[] {
    if (!this.#hal) throw new OpenStarryError(ErrorCode.NOT_READY, `the HAL is not open yet (boot phase: ${this.#boot.current})`);
    return this.#hal.service.devices();
  }

  listAgents(): IAgentStatus[] {
    return this.#supervisor?.list() ?? [];
  }

  listTemplates(): TemplatesResult {
    const store = this.#store;
    if (!store) throw new OpenStarryError(ErrorCode.NOT_READY, `the design layer is not loaded yet (boot phase: ${this.#boot.current})`);
    const remote = store.remoteState();
    return { dir: store.dir, templates: store.list(), invalid: store.invalid.map((t) => ({ file: t.file, error: t.error })), ...(remote ? { remote } : {}) };
  }

  readLogs(target: string, lines: number): LogLine[] {
    if (!this.#logBook.knows(target) && !this.#supervisor?.get(target) && !this.#supervisor?.findLive(target)) {
      throw new OpenStarryError(ErrorCode.AGENT_NOT_FOUND, `no agent or logs for "${target}"`);
    }
    return this.#logBook.read(target, lines);
  }

  followLogs(target: string, listener: (line: LogLine) => void): () => void {
    return this.#logBook.follow(target, listener);
  }

  status(): DaemonStatus {
    const agents = this.listAgents();
    const counts = { starting: 0, running: 0, stopping: 0, exited: 0, crashed: 0, restarting: 0, total: agents.length } satisfies Record<AgentState, number> & { total: number };
    for (const a of agents) counts[a.state] += 1;
    const store = this.#store;
    const degraded: string[] = [];
    if (store && store.invalid.length > 0) degraded.push(`templates-excluded:${store.invalid.length}`);
    const remote = store?.remoteState();
    if (remote?.state === 'unreachable') degraded.push('design-layer-unreachable');
    const failedDevices = this.#hal?.registry.list().filter((d) => !d.device).length ?? 0;
    if (failedDevices > 0) degraded.push(`devices-failed:${failedDevices}`);
    if (this.#recovery?.stateFile.source === 'backup') degraded.push('state-from-backup');
    if (this.#docker?.degraded) degraded.push('docker-unavailable');
    if (this.#dashboard?.error) degraded.push('dashboard-unavailable');
    if (this.#mqtt?.broker?.status().state === 'port-in-use') degraded.push('embedded-broker-port-in-use');
    const board = this.#board;
    const s: DaemonStatus = {
      version: VERSION,
      deviceId: this.#deviceId(),
      pid: process.pid,
      state: this.#state,
      phase: this.#boot.current,
      phases: this.#boot.phases(),
      board: board ? { name: board.profile.name, detectedBy: board.detectedBy, ...(board.model ? { model: board.model } : {}) } : { name: 'unknown', detectedBy: 'fallback' },
      degraded,
      home: this.#home,
      socket: this.#socket,
      startedAt: new Date(this.#startedAt).toISOString(),
      uptimeMs: Date.now() - this.#startedAt,
      templates: { dir: store?.dir ?? '', valid: store?.list().length ?? 0, invalid: store?.invalid.map((t) => ({ file: t.file, error: t.error })) ?? [], ...(remote ? { remote } : {}) },
      infrastructure: this.#infra?.states() ?? [],
      link: this.#linkStatus(),
      ...(this.#orchestration ? { orchestration: { ...this.#orchestration.stats(), ...(this.#inbound ? { mqttEvents: this.#inbound.counters } : {}), ...(this.#remoteCommands ? { mqttCommands: this.#remoteCommands.counters } : {}) } } : {}),
      ...(this.#dashboard ? { dashboard: this.#dashboard.error ? { error: this.#dashboard.error } : { listen: addressText(this.#dashboard.address()) } } : {}),
      isolation: { drivers: this.#drivers.map((d) => d.name), unavailable: this.#unavailableIsolation() },
      ...(this.#recovery ? { recovery: this.#recovery } : {}),
      agents: counts,
      resources: resourceSummary(agents, this.#drivers.map((d) => d.name)),
    };
    if (this.#loaded?.file) s.configFile = this.#loaded.file;
    if (this.#masterPid) s.masterPid = this.#masterPid;
    return s;
  }

  #unavailableIsolation(): Record<string, string> {
    const why = this.#docker?.unavailable;
    return why && !this.#drivers.some((d) => d.name === 'docker') ? { docker: why } : {};
  }

  #deviceId(): string {
    return this.#loaded?.config.deviceId ?? hostname();
  }

  #linkStatus(): DaemonStatus['link'] {
    const link = this.#mqtt?.link.status();
    const broker = this.#mqtt?.broker?.status();
    if (!link) {
      const why = broker?.state === 'port-in-use' ? { lastError: `the embedded broker's port ${broker.host}:${broker.port} is taken by another program; set mqtt.url to use that broker` } : {};
      return { state: 'absent', ...why, ...(broker ? { broker } : {}) };
    }
    return { ...link, ...(broker ? { broker } : {}) };
  }

  #ready(): { supervisor: Supervisor; store: TemplateStore } {
    if (this.#state !== 'ready' || !this.#supervisor || !this.#store) {
      throw new OpenStarryError(ErrorCode.NOT_READY, this.#state === 'stopping' ? 'the daemon is shutting down' : `the daemon is still booting (phase ${this.#boot.current})`);
    }
    return { supervisor: this.#supervisor, store: this.#store };
  }

  #onAgentLog(line: LogLine): void {
    this.#logBook.append(line);
    this.#log.child('agent')[line.level](`${line.agentId}[${line.pid}] ${line.message}${formatFields(line.fields)}`);
  }
}

function addressText(a: { host: string; port: number } | undefined): string {
  if (!a) return '';
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
