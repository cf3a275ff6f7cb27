/**
 * The orchestration engine (spec 000 §3.1 "event triggers", README "MQTT, remote triggers and rules"): boundary events in, rules matched,
 * CEL conditions evaluated, actions run through an injected executor (the daemon's supervisor, events service and
 * MQTT link). It owns no timers and no I/O; the sources (timers, GPIO, sensors, lifecycle) and the daemon call emit().
 *
 * Guarantees:
 *   - one live process per agent id: `spawn(x)` while x runs (or is being spawned) delivers the event to x instead;
 *   - storm protection: at most `maxConcurrentSpawns` spawn/kill actions run at once and at most `maxPending` wait;
 *     events from one source beyond `maxEventsPerSecond` (burst `burst`) are dropped; `publish` actions re-enter
 *     the rules at most `maxHops` deep (a rule loop ends there). Every drop is counted per reason and per rule;
 *   - a failing action or condition never throws back into the event source; it is counted and logged.
 */
import type { Clock } from '../clock.ts';
import { systemClock } from '../clock.ts';
import { eventNameProblem, serialiseEventData } from '../core/event-names.ts';
import type { JsonValue } from '../core/plugin.ts';
import type { Logger } from '../logging/logger.ts';
import { silentLogger } from '../logging/logger.ts';
import type { CompiledRule, RuleSet } from './rules-schema.ts';
import type { DropReason, OrchestratorStats, RuleStats } from './orchestrator-stats.ts';
import { StatsBook } from './orchestrator-stats.ts';
import { SourceRateLimit } from './source-rate-limit.ts';

/** An event as sources hand it in. `source`: `mqtt`, `cli`, `timer`, `gpio`, `sensor`, `lifecycle`, `agent:<id>`. */
export interface OrchestratorEvent {
  name: string;
  data?: JsonValue;
  source: string;
}

/** What actions receive: the event with its data checked and copied, and when it was accepted. */
export interface TriggerEvent {
  name: string;
  data: JsonValue;
  source: string;
  /** ISO time the orchestrator accepted the event. */
  at: string;
}

/** The daemon's side of the actions. Nothing here may block for long; spawn and kill return promises. */
export interface ActionExecutor {
  /** True while an instance of this agent id is starting or running. */
  isRunning(agentId: string): boolean;
  /** Spawns the template (whose id is the agent id); the daemon puts the event in the instance's config.trigger. */
  spawn(templateId: string, event: TriggerEvent): Promise<unknown>;
  kill(agentId: string): Promise<unknown>;
  /** A rule's publish action: out to MQTT `out/<topic>`. (Local subscribers get it through broadcast.) */
  publish(topic: string, data: JsonValue, cause: TriggerEvent): void;
  /** Sends the event to that running agent regardless of its subscribe grants; false when it cannot. */
  deliver(agentId: string, event: TriggerEvent): boolean;
  /** Every accepted event, for the agents whose `events:<pattern>:subscribe` grants cover it. */
  broadcast?(event: TriggerEvent): void;
}

export interface OrchestratorOptions {
  rules: RuleSet;
  executor: ActionExecutor;
  clock?: Clock;
  log?: Logger;
  maxConcurrentSpawns?: number;
  maxPending?: number;
  /** Per source; 0 disables the limit. */
  maxEventsPerSecond?: number;
  burst?: number;
  maxHops?: number;
  /** Events held for an agent being spawned, delivered once it runs. */
  maxWaitingPerSpawn?: number;
}

export interface EmitResult {
  accepted: boolean;
  /** Rules that fired for this event. */
  fired: number;
  reason?: DropReason;
}

interface Job {
  kind: 'spawn' | 'kill';
  target: string;
  event: TriggerEvent;
  rule: CompiledRule;
  /** Events for the same agent that arrived while this spawn was queued or running. */
  waiting: TriggerEvent[];
}

export class Orchestrator {
  readonly #executor: ActionExecutor;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #opts: Required<Omit<OrchestratorOptions, 'rules' | 'executor' | 'clock' | 'log'>>;
  #rules: RuleSet;
  #stats: StatsBook;
  readonly #edgeHeld = new Map<CompiledRule, boolean>();
  readonly #lastFired = new Map<CompiledRule, number>();
  readonly #rate: SourceRateLimit;
  readonly #queue: Job[] = [];
  readonly #running = new Map<string, Job>();
  #idleWaiters: (() => void)[] = [];
  #closed = false;

  constructor(options: OrchestratorOptions) {
    this.#executor = options.executor;
    this.#clock = options.clock ?? systemClock;
    this.#log = options.log ?? silentLogger;
    this.#opts = {
      maxConcurrentSpawns: options.maxConcurrentSpawns ?? 2,
      maxPending: options.maxPending ?? 32,
      maxEventsPerSecond: options.maxEventsPerSecond ?? 100,
      burst: options.burst ?? 500,
      maxHops: options.maxHops ?? 4,
      maxWaitingPerSpawn: options.maxWaitingPerSpawn ?? 16,
    };
    this.#rate = new SourceRateLimit(this.#opts.maxEventsPerSecond, this.#opts.burst, this.#clock);
    this.#rules = options.rules;
    this.#stats = new StatsBook(options.rules, this.#log, this.#clock);
  }

  /** Replaces the rule set (a reload); per-rule counters, cooldowns and edge states start afresh. */
  setRules(rules: RuleSet): void {
    this.#rules = rules;
    this.#stats = this.#stats.reset(rules);
    this.#edgeHeld.clear();
    this.#lastFired.clear();
  }

  emit(event: OrchestratorEvent): EmitResult {
    return this.#emit(event, 0);
  }

  #emit(input: OrchestratorEvent, hops: number): EmitResult {
    if (this.#closed) return this.#drop('closed');
    const problem = eventNameProblem(input.name) ?? (typeof input.source === 'string' && input.source.length > 0 && input.source.length <= 200 ? undefined : 'source must be a short string');
    const serialised = problem === undefined ? serialiseEventData(input.data) : undefined;
    if (problem !== undefined || serialised === undefined || 'error' in serialised) {
      this.#stats.error(`event ${String(input.name).slice(0, 80)} refused: ${problem ?? (serialised && 'error' in serialised ? serialised.error : '')}`, undefined, this.#stats.dropped('invalid') + 1);
      return this.#drop('invalid');
    }
    if (hops > this.#opts.maxHops) return this.#drop('loop');
    if (!this.#rate.take(input.source)) return this.#drop('rate');
    const event: TriggerEvent = { name: input.name, data: JSON.parse(serialised.text) as JsonValue, source: input.source, at: new Date(this.#clock.now()).toISOString() };
    this.#stats.seen();
    try {
      this.#executor.broadcast?.(event);
    } catch (err) {
      this.#stats.error(`broadcast of ${event.name} failed: ${(err as Error).message}`);
    }
    let fired = 0;
    for (const rule of this.#rules.rules) {
      if (!rule.enabled || !rule.matches(event.name)) continue;
      if (this.#consider(rule, event)) {
        fired += 1;
        this.#fire(rule, event, hops);
      }
    }
    if (fired > 0) this.#stats.matchedEvent();
    return { accepted: true, fired };
  }

  /** Condition, edge and cooldown: whether the rule fires for this event. */
  #consider(rule: CompiledRule, event: TriggerEvent): boolean {
    const rs = this.#stats.rule(rule);
    rs.matched += 1;
    if (rule.condition) {
      const result = rule.condition.evaluate(event);
      if (result.error !== undefined) {
        rs.conditionErrors += 1;
        this.#stats.error(`${rule.label}: condition failed on ${event.name}: ${result.error}`, rule, rs.conditionErrors);
      }
      if (!result.value) {
        rs.conditionFalse += 1;
        this.#edgeHeld.set(rule, false);
        return false;
      }
    }
    if (rule.edge) {
      const held = this.#edgeHeld.get(rule) === true;
      this.#edgeHeld.set(rule, true);
      if (held) {
        rs.edgeHeld += 1;
        return false;
      }
    }
    const now = this.#clock.now();
    const last = this.#lastFired.get(rule);
    if (rule.cooldownMs > 0 && last !== undefined && now - last < rule.cooldownMs) {
      this.#stats.drop('cooldown', rule);
      return false;
    }
    this.#lastFired.set(rule, now);
    rs.fired += 1;
    rs.lastFiredAt = event.at;
    this.#stats.fired();
    return true;
  }

  #fire(rule: CompiledRule, event: TriggerEvent, hops: number): void {
    this.#log.debug(`${rule.label} fired on ${event.name}`, { source: event.source });
    for (const action of rule.actions) {
      try {
        switch (action.verb) {
          case 'spawn':
            this.#spawnOrDeliver(rule, action.target, event);
            break;
          case 'kill':
            if (!this.#executor.isRunning(action.target)) this.#stats.drop('not-running', rule);
            else if (this.#queue.some((j) => j.kind === 'kill' && j.target === action.target) || this.#running.get(action.target)?.kind === 'kill') this.#stats.action('deduplicated');
            else this.#enqueue({ kind: 'kill', target: action.target, event, rule, waiting: [] });
            break;
          case 'notify':
            if (this.#executor.deliver(action.target, event)) this.#stats.action('notified');
            else this.#stats.drop('not-running', rule);
            break;
          case 'publish': {
            const data = action.data ?? event.data;
            this.#executor.publish(action.target, data, event);
            this.#stats.action('published');
            this.#emit({ name: action.target, data, source: `rule:${rule.label}` }, hops + 1);
            break;
          }
        }
      } catch (err) {
        this.#stats.action('failed');
        this.#stats.error(`${rule.label}: ${action.verb}(${action.target}) failed: ${(err as Error).message}`, rule);
      }
    }
  }

  #spawnOrDeliver(rule: CompiledRule, template: string, event: TriggerEvent): void {
    const pending = this.#running.get(template) ?? this.#queue.find((j) => j.kind === 'spawn' && j.target === template);
    if (pending?.kind === 'spawn') {
      if (pending.waiting.length >= this.#opts.maxWaitingPerSpawn) this.#stats.drop('queue-full', rule);
      else pending.waiting.push(event);
      return;
    }
    if (this.#executor.isRunning(template)) {
      if (this.#executor.deliver(template, event)) this.#stats.action('delivered');
      else this.#stats.drop('not-running', rule);
      return;
    }
    this.#enqueue({ kind: 'spawn', target: template, event, rule, waiting: [] });
  }

  #enqueue(job: Job): void {
    if (this.#queue.length >= this.#opts.maxPending) {
      this.#stats.drop('queue-full', job.rule);
      return;
    }
    this.#queue.push(job);
    this.#pump();
  }

  #pump(): void {
    while (this.#running.size < this.#opts.maxConcurrentSpawns && !this.#closed) {
      // A kill and a spawn of the same agent never overlap: skip jobs whose agent has one running.
      const index = this.#queue.findIndex((j) => !this.#running.has(j.target));
      if (index < 0) break;
      const job = this.#queue.splice(index, 1)[0] as Job;
      this.#running.set(job.target, job);
      let work: Promise<unknown>;
      try {
        work = job.kind === 'spawn' ? this.#executor.spawn(job.target, job.event) : this.#executor.kill(job.target);
      } catch (err) {
        work = Promise.reject(err);
      }
      work.then(
        () => this.#settled(job, undefined),
        (err: unknown) => this.#settled(job, err),
      );
    }
    if (this.#running.size === 0 && this.#queue.length === 0) for (const w of this.#idleWaiters.splice(0)) w();
  }

  #settled(job: Job, err: unknown): void {
    this.#running.delete(job.target);
    if (err === undefined) {
      this.#stats.action(job.kind === 'spawn' ? 'spawned' : 'killed');
      this.#log.info(`${job.rule.label}: ${job.kind}(${job.target}) on ${job.event.name}`);
      for (const waiting of job.waiting) {
        if (this.#executor.deliver(job.target, waiting)) this.#stats.action('delivered');
        else this.#stats.drop('not-running', job.rule);
      }
    } else {
      this.#stats.action('failed');
      this.#stats.error(`${job.rule.label}: ${job.kind}(${job.target}) failed: ${(err as Error)?.message ?? String(err)}`, job.rule);
      for (let i = 0; i < job.waiting.length; i++) this.#stats.drop('spawn-failed', job.rule);
    }
    this.#pump();
  }

  #drop(reason: DropReason): EmitResult {
    this.#stats.drop(reason);
    return { accepted: false, fired: 0, reason };
  }

  stats(): OrchestratorStats {
    return this.#stats.snapshot({ pending: this.#queue.length, inFlight: this.#running.size });
  }

  ruleStats(): RuleStats[] {
    return this.stats().perRule;
  }

  /** Resolves when no spawn or kill is queued or running (tests, shutdown). */
  idle(): Promise<void> {
    if (this.#running.size === 0 && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Stops accepting events, drops queued actions (counted as `closed`), waits for running ones. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const job of this.#queue.splice(0)) this.#stats.drop('closed', job.rule);
    await this.idle();
  }
}
