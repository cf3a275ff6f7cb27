/**
 * One supervised agent instance: its frozen blueprint, its isolate (replaced on each policy restart, same pid),
 * and its lifecycle state machine:
 *
 *   starting -> running -> stopping -> exited            (killAgent SIGTERM / SIGKILL)
 *   starting | running -> exited                          (the agent ended with code 0 of its own accord)
 *   starting | running -> crashed                         (throw in start, uncaught error, unhandled rejection, OOM)
 *   crashed/exited by itself -> restarting -> starting    (restart policy, backoff; never after an explicit kill)
 *   crashed, restart series exhausted -> quarantined       (still `crashed`; restart-series.ts)
 *
 * Failures the daemon detects (memory-limit, cpu-limit, token-budget, start-timeout) go through fail(): `crashed`
 * with that reason, restart policy applies. They are detected in every state an isolate exists in (issue 13): an
 * agent whose start() never resolves is stopped by its limits like a running one, and by `start-timeout` after
 * agents.startTimeoutMs; one over a limit while stopping is terminated at once rather than at the end of its grace.
 */
import { within } from '../clock.ts';
import type { LifecycleNote, LogNote } from '../core/channel-messages.ts';
import { ErrorCode } from '../core/errors.ts';
import type { JsonValue } from '../core/json-value.ts';
import type { AgentState, IAgentStatus, KillSignal } from './agent-status.ts';
import type { LogLine } from '../logging/log-line.ts';
import type { Blueprint } from '../design/blueprint.ts';
import type { IIsolate, IIsolationDriver, IsolateExit, IsolateUsage } from '../isolation/isolation-driver.ts';
import { decideRestart, nextAttempt } from './restart-policy.ts';
import { sanitiseFields, sanitiseLevel, sanitiseMessage } from '../logging/log-sanitiser.ts';
import type { AgentHealth } from './agent-health.ts';
import { readHealthNote } from './agent-health.ts';
import { describeExit } from './exit-reason.ts';
import { LineBudget } from '../logging/line-budget.ts';
import { CpuWatch } from './cpu-watch.ts';
import { RestartSeries } from './restart-series.ts';
import type { InstanceDeps } from './instance-deps.ts';
import { TokenMeter } from './token-meter.ts';

/** How long kill and shutdown wait for a terminated thread to actually end before moving on. */
export const TERMINATE_WAIT_MS = 5000;

export class AgentInstance {
  readonly pid: string;
  readonly blueprint: Blueprint;
  readonly template: string;
  readonly #deps: InstanceDeps;
  #state: AgentState = 'starting';
  #startedAt = 0;
  #restarts = 0;
  #attempt = 0;
  #exitCode: number | undefined;
  #reason: string | undefined;
  #crashNote: string | undefined;
  #isolate: IIsolate | undefined;
  #restartTimer: unknown;
  /** `limit`: a limit met while stopping, which cut the grace short (fail() during `stopping`). */
  #stopRequest: { signal: KillSignal; forced: boolean; limit?: string } | undefined;
  #startTimer: unknown;
  #usage: IsolateUsage = { cpuPercent: 0, memoryBytes: 0 };
  #settleWaiters: (() => void)[] = [];
  #forcedFailure: string | undefined;
  /** Per-instance log budget: a flooding agent loses its excess lines (counted), the daemon keeps its pace. */
  readonly #logLimiter: LineBudget;
  #endWaiters: (() => void)[] = [];
  /** Per instance, so kept across policy restarts and reset by a new spawn (token-meter.ts). */
  readonly #tokens: TokenMeter;
  readonly #cpu: CpuWatch;
  readonly #series = new RestartSeries();
  #quarantined = false;
  /** The current isolate's last ctx.health() report; cleared at each launch. */
  #health: AgentHealth | undefined;

  constructor(pid: string, blueprint: Blueprint, template: string, deps: InstanceDeps) {
    this.pid = pid;
    this.blueprint = blueprint;
    this.template = template;
    this.#deps = deps;
    this.#logLimiter = new LineBudget(deps.clock, (dropped) => this.#logLine('warn', `${dropped} log lines dropped (more than ${LineBudget.PER_SECOND}/s)`));
    this.#tokens = new TokenMeter(blueprint.manifest.limits.tokens);
    this.#cpu = new CpuWatch(blueprint.manifest.limits.cpuPercent, deps.cpuLimitWindowMs, deps.clock.now());
  }

  get agentId(): string {
    return this.blueprint.manifest.id;
  }

  get state(): AgentState {
    return this.#state;
  }

  /** starting, running, stopping, restarting: the instance holds the agent id (spec 002 uniqueness). */
  get live(): boolean {
    return this.#state !== 'exited' && this.#state !== 'crashed';
  }

  get isolate(): IIsolate | undefined {
    return this.#isolate;
  }

  get driver(): IIsolationDriver {
    return this.#deps.driver;
  }

  status(): IAgentStatus {
    const s: IAgentStatus = {
      pid: this.pid,
      agentId: this.agentId,
      template: this.template,
      isolation: this.#deps.driver.name,
      state: this.#state,
      startedAt: new Date(this.#startedAt).toISOString(),
      restarts: this.#restarts,
      cpuPercent: this.live ? this.#usage.cpuPercent : 0,
      memoryBytes: this.live ? this.#usage.memoryBytes : 0,
      tokensUsed: this.#tokens.used,
    };
    if (this.#tokens.budget !== undefined) s.tokensBudget = this.#tokens.budget;
    if (this.#quarantined) s.quarantined = true;
    if (this.#isolate?.osPid !== undefined) s.osPid = this.#isolate.osPid;
    if (this.#exitCode !== undefined) s.exitCode = this.#exitCode;
    if (this.#reason !== undefined) s.reason = this.#reason;
    if (this.#health !== undefined) s.health = { ...this.#health };
    return s;
  }

  /** Starts (or restarts) the isolate. Never throws: a failure to start becomes state `crashed`. */
  async launch(): Promise<void> {
    this.#setState('starting');
    this.#startedAt = this.#deps.clock.now();
    this.#cpu.reset(this.#startedAt);
    this.#crashNote = undefined;
    this.#exitCode = undefined;
    this.#health = undefined;
    // From the launch, so a driver that never finishes starting the isolate is covered too (fail() remembers it).
    const timeoutMs = this.#deps.startTimeoutMs;
    this.#startTimer = this.#deps.clock.setTimeout(() => {
      if (this.#state === 'starting') void this.fail(`start-timeout: not running after ${timeoutMs} ms`);
    }, timeoutMs);
    let isolate: IIsolate;
    try {
      const initialState = this.#initialState();
      isolate = await this.#deps.driver.start({
        pid: this.pid,
        blueprint: this.blueprint,
        env: { OPENSTARRY_AGENT_ID: this.agentId, OPENSTARRY_HOME: this.#deps.agentHome(this.agentId) },
        ...(this.#deps.maxMessageBytes === undefined ? {} : { maxMessageBytes: this.#deps.maxMessageBytes }),
        ...(initialState === undefined ? {} : { initialState }),
      });
    } catch (err) {
      this.#onExit({ code: 1, cause: 'uncaught-error', error: { code: ErrorCode.ISOLATE_START, message: (err as Error).message } });
      return;
    }
    this.#isolate = isolate;
    this.#deps.hooks.attach(this.pid, isolate, this.blueprint);
    // A stop or a failure (start-timeout) while the driver was still starting the isolate: end it now.
    if (this.#stopRequest || this.#forcedFailure !== undefined) void this.#terminate(isolate);
    isolate.channel.onNote('lifecycle', (p) => this.#onLifecycle(p));
    isolate.channel.onNote('log', (p) => {
      // The isolate is untrusted: validate and bound everything, and drop what exceeds the rate limit.
      if (!this.#logLimiter.take()) return;
      const note = (typeof p === 'object' && p !== null ? p : {}) as Partial<LogNote>;
      this.#logLine(sanitiseLevel(note.level), sanitiseMessage(note.message), sanitiseFields(note.fields));
    });
    isolate.channel.onNote('metering.tokens', (p) => this.#onTokens(p));
    isolate.channel.onNote('agent.health', (p) => {
      this.#health = readHealthNote(p) ?? this.#health;
    });
    isolate.onOutput((o) => {
      if (this.#logLimiter.take()) this.#logLine(o.stream === 'stderr' ? 'warn' : 'info', sanitiseMessage(o.line));
    });
    void isolate.exited.then(async (exit) => {
      await this.#deps.hooks.detach(this.pid).catch((err: Error) => this.#deps.log.error(`detach of pid ${this.pid} failed: ${err.message}`));
      if (this.#isolate === isolate) this.#onExit(exit);
    });
  }

  /** The snapshot for the isolate's bootstrap; undefined (the host then asks with `state.load`) if it cannot be read. */
  #initialState(): JsonValue | null | undefined {
    try {
      return this.#deps.hooks.initialState?.(this.agentId);
    } catch {
      return undefined;
    }
  }

  /** Resolves when the instance has left `starting` (running, crashed, exited...), or after `timeoutMs`. */
  waitSettled(timeoutMs: number): Promise<void> {
    if (this.#state !== 'starting') return Promise.resolve();
    return new Promise((resolve) => {
      const timer = this.#deps.clock.setTimeout(resolve, timeoutMs);
      this.#settleWaiters.push(() => {
        this.#deps.clock.clearTimeout(timer);
        resolve();
      });
    });
  }

  /**
   * SIGTERM: ask the core to stop(ctx) and wait up to `graceMs`, then terminate. SIGKILL: terminate now.
   * Either way the restart policy does not apply. Idempotent; resolves when the instance has ended.
   */
  async stop(signal: KillSignal, graceMs: number): Promise<void> {
    if (!this.live) return;
    if (this.#state === 'restarting') {
      this.#deps.clock.clearTimeout(this.#restartTimer);
      this.#reason = `stopped by ${signal} while waiting to restart (last failure: ${this.#reason ?? 'unknown'})`;
      this.#setState('exited');
      return;
    }
    const ended = new Promise<void>((resolve) => this.#endWaiters.push(resolve));
    if (this.#stopRequest) {
      if (signal === 'SIGKILL' && this.#isolate) {
        this.#stopRequest.signal = 'SIGKILL';
        await this.#terminate(this.#isolate);
      }
      return ended;
    }
    this.#stopRequest = { signal, forced: false };
    this.#setState('stopping');
    const isolate = this.#isolate;
    if (!isolate) return ended;
    if (signal === 'SIGKILL') {
      await this.#terminate(isolate);
      return ended;
    }
    const grace = new Promise<'timeout'>((resolve) => {
      const t = this.#deps.clock.setTimeout(() => resolve('timeout'), graceMs);
      void isolate.exited.then(() => this.#deps.clock.clearTimeout(t));
    });
    const asked = isolate.channel.request('agent.stop').then(
      () => isolate.exited,
      () => 'refused' as const, // not started far enough to stop(ctx), or channel gone: terminate
    );
    const outcome = await Promise.race([asked, grace, isolate.exited]);
    if (outcome === 'timeout' || outcome === 'refused') {
      this.#stopRequest.forced = outcome === 'timeout';
      await this.#terminate(isolate);
    }
    // A thread that would not end even when terminated: report what we know rather than hang the caller.
    await within(this.#deps.clock, TERMINATE_WAIT_MS, Promise.race([ended, isolate.exited.then(() => ended)]));
  }

  /**
   * Stores a usage sample; returns the cpu-limit failure reason when usage has stayed over limits.cpuPercent for
   * the window (the caller decides whether the driver enforces CPU itself and fails the instance).
   */
  recordUsage(usage: IsolateUsage): string | undefined {
    this.#usage = usage;
    return this.#cpu.sample(usage.cpuPercent, this.#deps.clock.now());
  }

  /**
   * Ends the isolate as a failure the daemon detected (memory over the limit, start-timeout...): the restart
   * policy applies, unlike an explicit kill. While `starting` before the driver has handed over the isolate, the
   * failure is remembered and the isolate terminated as soon as it exists. While `stopping`, the isolate is
   * terminated now (a limit does not wait for the grace period) and the stop stays a stop. No-op once ended, or
   * when a failure is already being handled.
   */
  async fail(reason: string): Promise<void> {
    const isolate = this.#isolate;
    if (!this.live || this.#state === 'restarting' || this.#forcedFailure !== undefined) return;
    if (this.#stopRequest) {
      if (!isolate || this.#stopRequest.limit !== undefined) return;
      this.#stopRequest.limit = reason;
      this.#deps.log.warn(`agent ${this.agentId} (pid ${this.pid}) terminated while stopping: ${reason}`);
      await this.#terminate(isolate);
      return;
    }
    this.#forcedFailure = reason;
    this.#deps.log.warn(`agent ${this.agentId} (pid ${this.pid}) stopped: ${reason}`);
    if (isolate) await this.#terminate(isolate);
  }

  /** terminate() with a deadline: a thread stuck in a long native call must not hold up kill or shutdown. */
  async #terminate(isolate: IIsolate): Promise<void> {
    await within(this.#deps.clock, TERMINATE_WAIT_MS, isolate.terminate());
  }

  #onTokens(raw: unknown): void {
    const over = this.#tokens.record(
      raw,
      (why) => this.#deps.log.warn(`agent ${this.agentId} (pid ${this.pid}): metering.tokens note ignored: ${why} (further bad notes are not logged)`),
      (report) => this.#deps.onTokens?.(this.pid, this.agentId, report),
    );
    if (over !== undefined) void this.fail(over);
  }

  #onLifecycle(raw: unknown): void {
    const note = (typeof raw === 'object' && raw !== null ? raw : {}) as Partial<LifecycleNote>;
    if (note.state === 'running' && this.#state === 'starting') {
      this.#setState('running');
    } else if (note.state === 'crashed') {
      const error = (typeof note.error === 'object' && note.error !== null ? note.error : {}) as { code?: unknown; message?: unknown };
      this.#crashNote = `${sanitiseMessage(typeof error.code === 'string' ? error.code : ErrorCode.UNKNOWN).slice(0, 64)}: ${sanitiseMessage(error.message ?? 'no message')}`;
    }
  }

  #onExit(exit: IsolateExit): void {
    this.#isolate = undefined;
    this.#usage = { cpuPercent: 0, memoryBytes: 0 }; // nothing runs while `restarting`
    this.#exitCode = exit.code;
    const uptime = this.#deps.clock.now() - this.#startedAt;
    if (this.#stopRequest) {
      const { signal, forced, limit } = this.#stopRequest;
      this.#stopRequest = undefined;
      this.#forcedFailure = undefined;
      this.#reason = limit !== undefined ? `stopped by ${signal}; terminated early: ${limit}` : forced ? `stopped by ${signal}; terminated after the grace period` : `stopped by ${signal}`;
      this.#setState('exited');
      return;
    }
    const forced = this.#forcedFailure;
    this.#forcedFailure = undefined;
    const failed = forced !== undefined || exit.code !== 0 || exit.error !== undefined || this.#crashNote !== undefined || exit.cause === 'message-too-large';
    // The channel cap's reason wins over a crash note: the refused message may have been that note's cause.
    if (exit.cause === 'message-too-large') this.#deps.onMessageTooLarge?.();
    const capped = exit.cause === 'message-too-large' ? describeExit(exit) : undefined;
    this.#reason = forced ?? capped ?? (failed ? this.#crashNote ?? describeExit(exit) : 'ended by itself (nothing left to do)');
    if (failed) this.#deps.log.warn(`agent ${this.agentId} (pid ${this.pid}) crashed: ${this.#reason}`);
    this.#attempt = nextAttempt(this.#attempt, uptime);
    if (failed) this.#series.record({ at: this.#deps.clock.now(), reason: this.#reason }, this.#attempt === 0);
    const decision = decideRestart(this.blueprint.manifest.restart, failed, this.#attempt);
    if (decision.restart) {
      this.#attempt += 1;
      this.#setState('restarting');
      this.#deps.log.info(`agent ${this.agentId} (pid ${this.pid}) restarts in ${decision.delayMs} ms (attempt ${this.#attempt}/${this.blueprint.manifest.restart.maxRestarts})`);
      this.#restartTimer = this.#deps.clock.setTimeout(() => {
        if (this.#deps.closing()) {
          this.#reason = `not restarted: the daemon is shutting down (last failure: ${this.#reason ?? 'unknown'})`;
          this.#setState(failed ? 'crashed' : 'exited');
          return;
        }
        this.#restarts += 1;
        void this.launch();
      }, decision.delayMs);
      return;
    }
    if (decision.exhausted) {
      this.#reason += `; gave up after ${this.blueprint.manifest.restart.maxRestarts} restarts`;
      if (failed) this.#quarantine();
    }
    this.#setState(failed ? 'crashed' : 'exited');
  }

  /** The restart policy gave up on a crash loop: visible in ps, logged with the whole series, never restarted. */
  #quarantine(): void {
    this.#quarantined = true;
    this.#reason = `quarantined: ${this.#reason ?? 'unknown'}`;
    const message = `quarantined (not restarted until spawned again); restart series: ${this.#series.describe()}`;
    this.#deps.log.error(`agent ${this.agentId} (pid ${this.pid}) ${message}`);
    this.#logLine('error', message);
  }

  #logLine(level: LogLine['level'], message: string, fields?: Record<string, unknown>): void {
    const line: LogLine = { time: new Date(this.#deps.clock.now()).toISOString(), pid: this.pid, agentId: this.agentId, level, message };
    if (fields !== undefined) line.fields = fields;
    this.#deps.onLogLine(line);
  }

  #setState(state: AgentState): void {
    this.#state = state;
    if (state !== 'starting') this.#deps.clock.clearTimeout(this.#startTimer);
    if (!this.live) this.#deps.hooks.release(this.pid);
    if (state !== 'starting') for (const w of this.#settleWaiters.splice(0)) w();
    if (!this.live) for (const w of this.#endWaiters.splice(0)) w();
    this.#deps.onChange(this.status());
  }
}
