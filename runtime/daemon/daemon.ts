/**
 * openstarryd: boots in the order of spec 002 (phases 1-3), then serves the control plane.
 *
 *   control         open the control socket first, so `openstarry status` can watch the boot (and a second
 *                   daemon on the same socket fails fast before touching anything)
 *   infrastructure  infrastructure plugins in configured order (phase 1.2)
 *                   (state DB, embedded broker, MQTT link, docker engine, dashboard)
 *   board           detect the board from the device tree; nothing known -> the simulated board
 *   hal             devices built, every actuator in its safe state
 *   design          the design layer: every template validated; invalid ones reported and excluded (phase 2)
 *   master          fetch the master blueprint and spawn it (phase 3)
 *   recovery        after an abnormal end, the journaled agents come back hydrated (phase 1.3)
 *   rules           orchestration rules, the state projection, MQTT events and commands; then READY=1
 * Reload (SIGHUP, `openstarry reload`; reload.ts): the rules file, the local templates and the dashboard token, validated first.
 * What the control plane calls (the DaemonApi methods) and the parts they read: daemon-api.ts, the base class.
 *
 * Shutdown (SIGTERM/SIGINT): rules and MQTT inputs stop, agents stop in reverse start order, the HAL makes every
 * actuator safe, infrastructure stops in reverse, then the socket.
 */
import { access, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { detectAndLoadBoard } from '../../board-profiles/detect.ts';
import type { Clock } from '../clock.ts';
import { every, systemClock, type Repeating } from '../clock.ts';
import { openBoardHal } from '../../hal/board-hal.ts';
import { ControlServer } from '../control/control-server.ts';
import type { BootPhaseName } from '../control/protocol.ts';
import { restoreAgents } from './recovery.ts';
import { createDaemonSupervisor, desiredAgents, spawnMaster } from './daemon-agents.ts';
import { assembleInfrastructure } from './daemon-infrastructure.ts';
import { describeDesign, unavailableIsolation } from './daemon-status.ts';
import { recordInstalled } from '../state/state-registry.ts';
import { DESIGN_RESYNC_MS, TemplateStore } from '../design/template-store.ts';
import { ErrorCode, OpenStarryError } from '../errors.ts';
import type { IIsolationDriver } from '../isolation/isolation-driver.ts';
import { ProcessDriver } from '../isolation/process/process-driver.ts';
import { WasmDriver } from '../isolation/wasm/wasm-driver.ts';
import { WorkerDriver } from '../isolation/worker/worker-driver.ts';
import { AgentLogBook } from '../logging/agent-log-book.ts';
import type { Logger } from '../logging/logger.ts';
import { createLogger } from '../logging/logger.ts';
import { agentOps } from '../supervisor/agent-ops.ts';
import { loadConfig } from './config-loader.ts';
import { trustedKeyPaths } from '../deploy/config.ts';
import type { InfrastructurePlugin } from './infrastructure.ts';
import { agentHome, packageRoot, resolveHome, resolveSocket } from './paths.ts';
import { createSdNotifier, type SdNotifier } from './sd-notify.ts';
import { SystemdService } from './systemd-service.ts';
import { Reloader } from './reload.ts';
import { sparesFollowRules, warmSparesFor } from './spare-policy.ts';
import { DaemonControlApi, prewarmFor } from './daemon-api.ts';
import { bindDashboard } from './dashboard-binding.ts';
import type { SensorSampler } from '../../hal/sensor-sampler.ts';

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
  /** Called once, right after READY=1 (main.ts sets the daemon's V8 flags there: runtime/daemon/node-flags.ts). */
  onReady?: () => void;
  /** The worker driver's bootWindow (runtime/isolation/worker/worker-driver.ts): main.ts turns the V8 flags off in it. */
  workerBootWindow?: () => () => void;
}

export class Daemon extends DaemonControlApi {
  readonly #opts: DaemonOptions;
  #resync: Repeating | undefined;
  readonly #clock: Clock;
  #booting: Promise<void> | undefined;
  #stopRequested = false;
  #journalQueued = false;
  #tearingDown: Promise<void> | undefined;
  /** Reads the sensors for the dashboard's charts and Home Assistant's states; only while one of them runs (hal/sensor-sampler.ts). */
  #sampler: SensorSampler | undefined;

  constructor(options: DaemonOptions = {}) {
    const env = options.env ?? process.env;
    const log = options.log ?? createLogger('openstarryd');
    const home = resolveHome(env);
    const clock = options.clock ?? systemClock;
    super({ log, home, socket: resolveSocket(env, home, options.socket), systemd: new SystemdService({ notifier: options.notifier ?? createSdNotifier({ env }), env, clock, log }) });
    this.#opts = options;
    this.#clock = clock;
  }

  get socketPath(): string {
    return this.socket;
  }

  /** Runs the boot phases; throws (after undoing what it started) when one fails or a shutdown interrupts it. */
  boot(): Promise<void> {
    this.#booting ??= this.#bootPhases().catch(async (err: unknown) => {
      if (!this.#stopRequested) this.state = 'failed';
      // Not a clean run: the next boot must still restore what the previous one was running.
      this.infra?.stateDb.withholdCleanMark();
      await this.#teardown();
      throw err;
    });
    return this.#booting;
  }

  async #bootPhases(): Promise<void> {
    this.loaded = await loadConfig(this.#opts.configFile, this.#opts.env ?? process.env);
    const { config } = this.loaded;
    if (!this.#opts.log) this.log.setLevel(config.log.level);
    this.logBook = new AgentLogBook(config.agents.logLines);
    await mkdir(this.home, { recursive: true });
    await this.#phase('control', async () => {
      this.control = await ControlServer.listen({ socketPath: this.socket, api: this, guard: { clock: this.#clock }, log: (level, msg) => this.log.child('control')[level](msg) });
    }, () => ({ detail: this.socket }));
    // The isolation drivers exist from here on, so the master's worker thread boots (as a spare) while the board,
    // HAL and design phases run; the master phase then only hands it the blueprint.
    this.drivers = this.#opts.drivers ?? [new WorkerDriver({ warmSpares: warmSparesFor(config.agents.warmSpares, undefined), bootSpares: 1, clock: this.#clock, ...(this.#opts.workerBootWindow ? { bootWindow: this.#opts.workerBootWindow } : {}) }), new ProcessDriver({ clock: this.#clock }), new WasmDriver()];
    const parts = (this.infra = assembleInfrastructure({
      config,
      home: this.home,
      deviceId: this.deviceId(),
      env: this.#opts.env ?? process.env,
      clock: this.#clock,
      log: this.log,
      dashboardSources: this.rules.dashboardSources,
      dashboardDaemon: bindDashboard({ api: this, hal: () => this.hal?.service, samples: () => this.#sampler }),
      metrics: () => this.metricsSnapshot(),
      ...(this.#opts.infrastructure ? { extra: this.#opts.infrastructure } : {}),
    }));
    const { stateDb, docker, runner: infra } = parts;
    await this.#phase('infrastructure', () => infra.startAll(), () => ({ detail: `${infra.states().length} plugin(s)`, degraded: docker.degraded }));
    if (docker.driver && !this.#opts.drivers) this.drivers = [...this.drivers, docker.driver];
    const board = (this.board = await this.#phase('board', () => detectAndLoadBoard(config.board, path.join(packageRoot(), 'board-profiles'), this.#opts.deviceTreeRoot ?? '/'),
      (b) => ({ detail: `${b.profile.name} (${b.detectedBy}${b.model ? `: ${b.model}` : ''})` })));
    this.hal = await this.#phase('hal', () => openBoardHal({
      profile: board.profile,
      configDevices: config.devices,
      ...(this.loaded?.file ? { configFile: this.loaded.file } : {}),
      clock: this.#clock,
      log: this.log.child('hal'),
      ...(this.#opts.sysRoot ? { sysRoot: this.#opts.sysRoot } : {}),
    }), (h) => {
      const devices = h.registry.list();
      const failed = devices.filter((d) => !d.device).length;
      return { detail: `${devices.length} device(s)${failed ? `, ${failed} failed` : ''}`, degraded: failed > 0 };
    });
    const dashboardRuns = parts.dashboard !== undefined && !parts.dashboard.error;
    if (dashboardRuns || config.homeassistant.enabled) {
      // Loaded only when the dashboard runs or Home Assistant is on (issue 12: nothing on the boot path that is not
      // used); both read the same samples. Without the dashboard, at Home Assistant's interval.
      const { SensorSampler } = await import('../../hal/sensor-sampler.ts');
      const registry = this.hal.registry;
      const intervalMs = dashboardRuns && config.dashboard.enabled ? config.dashboard.sampleIntervalMs : config.homeassistant.intervalMs;
      this.#sampler = new SensorSampler({ devices: () => registry.list(), clock: this.#clock, intervalMs, log: this.log.child('sampler') });
      this.#sampler.start();
    }
    const dir = config.templates.dir ? path.resolve(this.loaded.baseDir, config.templates.dir) : path.join(packageRoot(), 'agents');
    const remote = config.templates.url ? { url: config.templates.url, timeoutMs: config.templates.timeoutMs, cacheDir: path.join(this.home, 'design-cache') } : undefined;
    const designLog = this.log.child('design');
    const store = (this.store = await this.#phase('design', () => TemplateStore.open(dir, { ...(remote ? { remote } : {}), warn: (m) => designLog.warn(m) }), describeDesign(designLog)));
    try {
      recordInstalled(stateDb.db.registry, store.list(), store.blueprints());
    } catch (err) {
      this.log.warn(`registry not recorded: ${(err as Error).message}`);
    }
    this.deployWiring = () => ({ home: this.home, store, supervisor: () => this.supervisor, db: stateDb.db, config: config.deploy, configDir: this.loaded!.baseDir, env: this.#opts.env ?? process.env, clock: this.#clock, log: this.log });
    // An unfinished deployment is resolved before any agent spawns, and committed versions become what the store
    // spawns (README "Deploying updates"); a board that never deployed has no journal and loads none of it.
    if (await exists(path.join(this.home, 'deployments', 'journal.json'))) {
      const { openBoardDeployer } = await import('./deploy-wiring.ts');
      this.deployBoot = openBoardDeployer(this.deployWiring());
      await this.deployBoot.catch((err: Error) => {
        this.deployBoot = undefined;
        this.log.warn(`deployments journal not usable, deployed versions not applied: ${err.message}`);
      });
    }
    // With a service: its listing again every few minutes, so templates added there appear and `status` follows
    // the service going and coming even when nothing is spawned (a spawn checks it anyway).
    if (remote) this.#resync = every(this.#clock, DESIGN_RESYNC_MS, () => void store.resync(), { unref: true });
    // What ctx.agents and the rules' spawn/kill do, built once for both.
    const agents = agentOps(() => this.supervisor!, (id) => {
      if (this.supervisor) prewarmFor(this.supervisor, store, id); // a rule's or the master's spawn reads it first
      return store.fresh(id);
    });
    this.supervisor = createDaemonSupervisor({
      config: config.agents,
      drivers: this.drivers,
      unavailable: () => unavailableIsolation(this.infra?.docker.unavailable, this.drivers),
      hal: this.hal.service,
      db: stateDb.db,
      rules: this.rules,
      agents,
      agentHome: (id) => agentHome(this.home, id),
      log: this.log,
      onLogLine: (line) => this.onAgentLog(line),
      onChange: (status) => {
        this.#queueJournalDesired();
        this.rules.onAgentChange(status);
      },
      clock: this.#clock,
    });
    await this.#phase('master', () => spawnMaster(store, this.supervisor!, config.masterAgent, (pid) => (this.masterPid = pid)), (s) => ({ detail: `${s.agentId} running as pid ${s.pid}` }));
    const supervisor = this.supervisor;
    this.recovery = await this.#phase('recovery', () => restoreAgents({ stateDb, supervisor, store, masterAgent: config.masterAgent, log: this.log.child('recovery') }), (r) => ({
      detail: `previous run ${r.previousRun}${r.reason ? ` (${r.reason})` : ''}; state from ${r.stateFile.source}; ${r.restored.length} agent(s) restored${r.failed.length ? `, ${r.failed.length} failed` : ''}`,
      degraded: r.failed.length > 0 || r.stateFile.source === 'backup',
    }));
    // The template of a deployment a power cut interrupted runs again (its previous version), if recovery did not.
    const deployed = await this.deployBoot?.catch(() => undefined);
    if (deployed) {
      this.deployOpened = deployed;
      const lost = deployed.interrupted;
      if (lost?.wasRunning && !supervisor.findLive(lost.templateId)) await deployed.deployer.restartCurrent(lost.templateId);
    }
    const registry = this.hal.registry;
    const link = () => parts.mqtt.link.running;
    await this.#phase('rules', () => this.rules.start({ config: config.orchestration, baseDir: this.loaded!.baseDir, deviceId: this.deviceId(), commands: config.mqtt.commands, log: this.log, clock: this.#clock, agents, registry, link, api: this, onRules: sparesFollowRules(this.drivers, config.agents.warmSpares) }),
      (o) => ({ detail: `${o.rules.rules.length} rule(s) from ${o.rules.file}` }));
    if (config.homeassistant.enabled) {
      // Loaded only when on (README "Home Assistant"); never fails the boot, `status` shows why it did not start.
      const { startHomeAssistant } = await import('./homeassistant-wiring.ts');
      this.homeassistant = await startHomeAssistant({ config: config.homeassistant, link: link(), hal: this.hal, deviceId: this.deviceId(), model: board.profile.name, home: this.home, ...(this.#sampler ? { feed: this.#sampler } : {}), agentsRunning: () => supervisor.list().filter((a) => a.state === 'running').length, clock: this.#clock, log: this.log.child('homeassistant') });
    }
    const templatesReloaded = () => recordInstalled(stateDb.db.registry, store.list(), store.blueprints());
    this.reloader = new Reloader({ rules: this.rules, store, templatesReloaded, log: this.log.child('reload'), clock: this.#clock, ...(parts.dashboard ? { dashboard: parts.dashboard } : {}) });
    this.bootReport.ready();
    this.state = 'ready';
    this.#journalDesired(); // the first write of this run's list: the master, the restored agents
    this.log.info(`ready in ${Date.now() - this.startedAt} ms`, { board: board.profile.name, master: this.masterPid, socket: this.socket });
    // READY=1, then WATCHDOG=1 while the event loop answers and the supervisor's usage tick keeps running.
    this.systemd.ready(`ready; master agent pid ${this.masterPid}`, [{ name: "the supervisor's usage tick", lastAt: () => supervisor.lastTickAt, intervalMs: supervisor.tickIntervalMs }]);
    this.#opts.onReady?.();
    const keys = trustedKeyPaths(config.deploy, this.loaded.baseDir, this.#opts.env ?? process.env);
    if (link() && keys.length > 0) {
      // Fleet deployments over MQTT (README "Deploying updates"), loaded only when this board has a broker and a key to
      // verify with; started after READY=1 (off the boot path: it reads keys and fleet.json), because a retained
      // document may arrive at once and deploys through the API. Never fatal: the daemon runs on without it.
      try {
        const { startFleet } = await import('./fleet-wiring.ts');
        this.fleet = await startFleet({ link: link(), deploy: config.deploy, trustedKeyPaths: keys, templatesUrl: config.templates.url, deployer: () => this.boardDeployer(), home: this.home, clock: this.#clock, log: this.log.child('fleet') });
      } catch (err) {
        this.log.error(`fleet: not started: ${(err as Error).message}`);
      }
    }
  }

  /**
   * #journalDesired once per event-loop turn, after the change: an agent's `starting` is announced before its worker
   * thread is created, and a spawn must not wait for the list to be built and checked (issue 12). The write itself is
   * coalesced into the state file's next flush either way.
   */
  #queueJournalDesired(): void {
    if (this.#journalQueued) return;
    this.#journalQueued = true;
    setImmediate(() => {
      this.#journalQueued = false;
      this.#journalDesired();
    });
  }

  /**
   * The desired-agents journal follows the live agents once the boot is complete — not during it (the previous run's
   * list is what recovery restores, and a boot that fails must leave it for the next attempt) and not during shutdown
   * (a clean stop keeps the list).
   */
  #journalDesired(): void {
    if (this.state !== 'ready' || this.#stopRequested || !this.supervisor || !this.infra) return;
    try {
      this.infra.stateDb.db.journal.setDesired(desiredAgents(this.supervisor.list()));
    } catch (err) {
      this.log.warn(`journal not updated: ${(err as Error).message}`);
    }
  }

  /** One boot phase; a shutdown requested meanwhile stops the boot before the next phase starts. */
  async #phase<T>(name: BootPhaseName, body: () => Promise<T>, describe?: (result: T) => { detail: string; degraded?: boolean }): Promise<T> {
    if (this.#stopRequested) throw new OpenStarryError(ErrorCode.BOOT_FAILED, `boot interrupted by shutdown before phase ${name}`);
    return this.bootReport.run(name, body, describe);
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
      if (this.state !== 'failed') this.state = 'stopping';
      const began = Date.now();
      this.log.info('shutting down');
      this.systemd.stopping(); // STOPPING=1 first, then the watchdog's timer stops
      this.#resync?.stop();
      // A deployment in flight ends `interrupted` before anything it watches stops (README "Deploying updates").
      await this.closeDeployments();
      // Nothing new comes in while the agents stop: no remote commands or events, no rules firing.
      await this.rules.close();
      await this.homeassistant?.close();
      await this.fleet?.close();
      // One budget for the whole shutdown (below systemd's TimeoutStopSec): draining in-flight rule spawns above counts.
      const budget = this.loaded?.config.agents.shutdownTimeoutMs;
      if (this.supervisor) await this.supervisor.stopAll(budget === undefined ? undefined : Math.max(1000, budget - (Date.now() - began)));
      else for (const driver of this.drivers) await driver.close?.(); // boot ended before the supervisor existed
      this.#sampler?.close();
      await this.hal?.close();
      await this.infra?.runner.stopAll();
      await this.control?.close();
      this.log.info('stopped');
    })();
    return this.#tearingDown;
  }
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(() => true, () => false);
}
