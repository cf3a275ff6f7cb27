/**
 * The supervisor (spec 000 §1.1 process management): spawns agents into isolates, kills them, lists them,
 * enforces "one live process per agent id" (spec 002 key rules), applies restart policies, and samples each
 * isolate's CPU and memory for `ps`. Shutdown stops agents in reverse start order.
 *
 * Resource governance (spec 000 §1.1, README "Resource limits", `limits`): memory over limits.memoryMb (with slack), CPU over
 * limits.cpuPercent for agents.cpuLimitWindowMs (cpu-watch.ts; skipped for drivers that enforce CPU themselves)
 * and reported tokens past limits.tokens (token-meter.ts) each stop the agent as `crashed` with a reason
 * (memory-limit / cpu-limit / token-budget); the restart policy applies, and a crash loop ends quarantined.
 */
import type { Clock, Repeating } from '../clock.ts';
import { every, systemClock, within } from '../clock.ts';
import type { IAgentStatus, KillSignal } from './agent-status.ts';
import type { LogLine } from '../logging/log-line.ts';
import type { Blueprint } from '../design/blueprint.ts';
import type { Isolation } from '../design/manifest-schema.ts';
import { ErrorCode, OpenStarryError } from '../errors.ts';
import type { IIsolationDriver } from '../isolation/isolation-driver.ts';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../isolation/message-cap.ts';
import type { Logger } from '../logging/logger.ts';
import { silentLogger } from '../logging/logger.ts';
import { AgentInstance, TERMINATE_WAIT_MS } from './agent-instance.ts';
import { noHooks } from './instance-deps.ts';
import type { SupervisorHooks } from './instance-deps.ts';
import type { TokenReport } from './token-meter.ts';

/** Total memory (heap + external) an agent may use, as a multiple of limits.memoryMb. */
export const MEMORY_SLACK = 1.25;
export const DEFAULT_CPU_LIMIT_WINDOW_MS = 10_000;

export interface SupervisorOptions {
  drivers: readonly IIsolationDriver[];
  /** Why a driver this build has is not offered here (docker without an engine), for the spawn error. */
  unavailable?: () => Readonly<Record<string, string>>;
  /** The HAL's admit/attach/detach/release around each agent (none by default). */
  hooks?: SupervisorHooks;
  agentHome: (agentId: string) => string;
  clock?: Clock;
  /**
   * The clock the periodic usage tick runs on (default: the system clock, also when `clock` is a test's manual
   * clock). Apart from `clock` because tests that move `clock` to drive grace periods, backoff and the CPU window
   * take their usage samples themselves (sampleUsage()); a tick on that clock would add rounds they do not expect.
   */
  tickClock?: Clock;
  log?: Logger;
  stopGraceMs?: number;
  startTimeoutMs?: number;
  usageIntervalMs?: number;
  /** How long an agent may stay over limits.cpuPercent before it is stopped (default 10 s). */
  cpuLimitWindowMs?: number;
  /** Largest message an isolate may send the daemon (agents.maxMessageBytes; isolation/message-cap.ts). */
  maxMessageBytes?: number;
  /** Every valid ctx.metering report, for telemetry. */
  onTokens?: (pid: string, agentId: string, report: TokenReport) => void;
  /** Ended instances kept for `ps` (oldest dropped first). */
  keepEnded?: number;
  onLogLine?: (line: LogLine) => void;
  onChange?: (status: IAgentStatus) => void;
}

export class Supervisor {
  readonly #drivers: Map<Isolation, IIsolationDriver>;
  readonly #unavailable: () => Readonly<Record<string, string>>;
  readonly #opts: Required<Omit<SupervisorOptions, 'drivers' | 'unavailable' | 'maxMessageBytes' | 'tickClock'>> & { maxMessageBytes?: number };
  #messagesTooLarge = 0;
  readonly #instances = new Map<string, AgentInstance>();
  #nextPid = 1;
  #usageTimer: Repeating | undefined;
  #lastTickAt: number;
  #closed = false;

  constructor(options: SupervisorOptions) {
    this.#drivers = new Map(options.drivers.map((d) => [d.name, d]));
    this.#unavailable = options.unavailable ?? (() => ({}));
    this.#opts = {
      agentHome: options.agentHome,
      clock: options.clock ?? systemClock,
      log: options.log ?? silentLogger,
      stopGraceMs: options.stopGraceMs ?? 5000,
      startTimeoutMs: options.startTimeoutMs ?? 10_000,
      usageIntervalMs: options.usageIntervalMs ?? 5000,
      cpuLimitWindowMs: options.cpuLimitWindowMs ?? DEFAULT_CPU_LIMIT_WINDOW_MS,
      onTokens: options.onTokens ?? (() => undefined),
      ...(options.maxMessageBytes === undefined ? {} : { maxMessageBytes: options.maxMessageBytes }),
      keepEnded: options.keepEnded ?? 100,
      onLogLine: options.onLogLine ?? (() => undefined),
      hooks: options.hooks ?? noHooks,
      onChange: options.onChange ?? (() => undefined),
    };
    this.#lastTickAt = this.#opts.clock.now();
    this.#usageTimer = every(options.tickClock ?? systemClock, this.#opts.usageIntervalMs, () => void this.#tick(), { unref: true });
  }

  /**
   * When the periodic usage tick last completed a round (on the injected clock): the systemd watchdog's sign that
   * the supervisor is running (runtime/daemon/sd-watchdog.ts). Each isolate's answer is bounded, so one slow
   * engine does not make the supervisor look stuck.
   */
  get lastTickAt(): number {
    return this.#lastTickAt;
  }

  /** The channel cap and how many agents it stopped since boot (`status` channels; isolation/message-cap.ts). */
  get channels(): { maxMessageBytes: number; refused: number } {
    return { maxMessageBytes: this.#opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES, refused: this.#messagesTooLarge };
  }

  get tickIntervalMs(): number {
    return this.#opts.usageIntervalMs;
  }

  async #tick(): Promise<void> {
    try {
      await this.sampleUsage();
      this.#lastTickAt = this.#opts.clock.now();
    } catch (err) {
      this.#opts.log.error(`usage sampling failed: ${(err as Error).message}`);
    }
  }

  /**
   * Spawns an agent from a frozen blueprint and waits until it is running, has failed, or startTimeoutMs passed.
   * @throws ERR_AGENT_EXISTS when an instance of that agent id is live (spec 002 uniqueness)
   */
  async spawn(blueprint: Blueprint, options: { template: string; isolation?: Isolation }): Promise<IAgentStatus> {
    if (this.#closed) throw new OpenStarryError(ErrorCode.NOT_READY, 'the daemon is shutting down');
    const isolation = options.isolation ?? blueprint.manifest.isolation;
    const driver = this.#drivers.get(isolation);
    if (!driver) {
      const why = this.#unavailable()[isolation];
      throw new OpenStarryError(ErrorCode.ISOLATION_UNAVAILABLE, `isolation "${isolation}" is not available${why ? `: ${why}` : ' in this build'} (available: ${[...this.#drivers.keys()].join(', ')})`);
    }
    const id = blueprint.manifest.id;
    const live = this.findLive(id);
    if (live) throw new OpenStarryError(ErrorCode.AGENT_EXISTS, `agent "${id}" is already running as pid ${live.pid} (one live instance per agent id)`);
    const pid = String(this.#nextPid++);
    this.#opts.hooks.admit(pid, blueprint);
    const instance = new AgentInstance(pid, blueprint, options.template, {
      driver,
      hooks: this.#opts.hooks,
      clock: this.#opts.clock,
      log: this.#opts.log,
      closing: () => this.#closed,
      agentHome: this.#opts.agentHome,
      cpuLimitWindowMs: this.#opts.cpuLimitWindowMs,
      startTimeoutMs: this.#opts.startTimeoutMs,
      onTokens: this.#opts.onTokens,
      ...(this.#opts.maxMessageBytes === undefined ? {} : { maxMessageBytes: this.#opts.maxMessageBytes }),
      onMessageTooLarge: () => (this.#messagesTooLarge += 1),
      onLogLine: this.#opts.onLogLine,
      onChange: (s) => this.#onChange(s),
    });
    this.#instances.set(pid, instance);
    this.#opts.log.info(`spawning agent ${id} as pid ${pid}`, { template: options.template, isolation });
    await instance.launch();
    await instance.waitSettled(this.#opts.startTimeoutMs);
    return instance.status();
  }

  /**
   * A spawn is reading its blueprint: the driver it will most likely run on begins the slow part of a start ahead
   * (IIsolationDriver.prewarm: the worker driver boots the thread), so the two overlap (issue 12).
   */
  prewarm(isolation: Isolation, memoryMb: number): void {
    if (!this.#closed) this.#drivers.get(isolation)?.prewarm?.(memoryMb);
  }

  /** Kills by pid (or, for convenience, by the agent id of a live instance). */
  async kill(target: string, signal: KillSignal = 'SIGTERM'): Promise<IAgentStatus> {
    const instance = this.#instances.get(target) ?? this.findLive(target);
    if (!instance) throw new OpenStarryError(ErrorCode.AGENT_NOT_FOUND, `no agent with pid ${target}`);
    this.#opts.log.info(`killing agent ${instance.agentId} (pid ${instance.pid}) with ${signal}`);
    await instance.stop(signal, instance.blueprint.manifest.stopGraceMs ?? this.#opts.stopGraceMs);
    return instance.status();
  }

  list(): IAgentStatus[] {
    return [...this.#instances.values()].map((i) => i.status());
  }

  get(pid: string): AgentInstance | undefined {
    return this.#instances.get(pid);
  }

  findLive(agentId: string): AgentInstance | undefined {
    for (const i of this.#instances.values()) if (i.live && i.agentId === agentId) return i;
    return undefined;
  }

  /**
   * Refreshes cpu/memory of every isolate that exists (also runs on a timer) and enforces the limits on it: in
   * every state, not only `running` (issue 13: an agent whose start() never resolves must not grow unbounded).
   */
  async sampleUsage(): Promise<void> {
    await Promise.all([...this.#instances.values()].map((i) => this.#sampleOne(i)));
  }

  async #sampleOne(instance: AgentInstance | undefined): Promise<void> {
    const isolate = instance?.isolate;
    if (!instance || !instance.live || !isolate) return;
    let usage;
    try {
      // An isolate that does not answer within one interval (a docker engine that hangs) is skipped this round.
      usage = await within(this.#opts.clock, this.#opts.usageIntervalMs, isolate.usage());
      // The isolate ended (or was replaced by a restart) while it answered: this sample is not its successor's.
      if (instance.isolate !== isolate) return;
    } catch {
      return; // The isolate ended between the check and the answer; the next sample skips it.
    }
    if (!usage) return;
    const cpuOver = instance.recordUsage(usage);
    // limits.memoryMb caps the V8 heap through resourceLimits; memory outside it (ArrayBuffers, Wasm memory) is
    // only visible here, so the total is held to the limit plus a quarter of slack for the heap's own overhead.
    // A driver whose isolate carries its own runtime (a child process's Node) reports that too; it is allowed extra.
    const limit = instance.blueprint.manifest.limits.memoryMb * 1024 * 1024 * MEMORY_SLACK + (instance.driver.baselineMemoryBytes ?? 0);
    if (usage.memoryBytes > limit) {
      const mb = (n: number) => `${Math.round(n / 1024 / 1024)} MB`;
      await instance.fail(`memory-limit: using ${mb(usage.memoryBytes)}, limit ${mb(instance.blueprint.manifest.limits.memoryMb * 1024 * 1024)}`);
      return;
    }
    // A driver that throttles the isolate itself (docker's NanoCpus) keeps it at the limit: nothing to stop.
    if (cpuOver !== undefined && !instance.driver.enforcesCpuLimit) await instance.fail(cpuOver);
  }

  /**
   * Stops every live agent in reverse start order with SIGTERM (grace, then terminate). The whole shutdown keeps
   * within `deadlineMs` (below systemd's TimeoutStopSec): each agent's grace is cut to what remains, and once it
   * is spent the rest are terminated. Idempotent.
   */
  async stopAll(deadlineMs = 60_000): Promise<void> {
    this.#closed = true;
    this.#usageTimer?.stop();
    this.#usageTimer = undefined;
    const end = this.#opts.clock.now() + deadlineMs;
    const live = [...this.#instances.values()].filter((i) => i.live).reverse();
    for (const instance of live) {
      const remaining = end - this.#opts.clock.now();
      const grace = Math.min(instance.blueprint.manifest.stopGraceMs ?? this.#opts.stopGraceMs, Math.max(0, remaining - TERMINATE_WAIT_MS));
      await instance.stop(remaining > TERMINATE_WAIT_MS ? 'SIGTERM' : 'SIGKILL', grace);
    }
    for (const driver of this.#drivers.values()) await driver.close?.();
  }

  #onChange(status: IAgentStatus): void {
    if (status.state === 'exited' || status.state === 'crashed') this.#dropOldEnded();
    // A first sample right away, so `ps` shows memory from the start rather than after usageIntervalMs.
    if (status.state === 'running') void this.#sampleOne(this.#instances.get(status.pid));
    this.#opts.onChange(status);
  }

  #dropOldEnded(): void {
    const ended = [...this.#instances.values()].filter((i) => !i.live);
    for (const old of ended.slice(0, Math.max(0, ended.length - this.#opts.keepEnded))) this.#instances.delete(old.pid);
  }
}
