/**
 * The orchestrator's counters, as `openstarry status` and the dashboard's /api/rules show them: rules loaded, events
 * seen, rules fired, drops by reason (overall and per rule), actions done, the last error. Drop warnings are
 * logged at 1, 10, 100, 1000, ... per rule and reason, so an event storm shows in the log without flooding it.
 */
import type { Clock } from '../clock.ts';
import type { Logger } from '../logging/logger.ts';
import type { CompiledRule, RuleSet } from './rules-schema.ts';

export const DROP_REASONS = ['invalid', 'rate', 'loop', 'closed', 'cooldown', 'queue-full', 'not-running', 'spawn-failed'] as const;
export type DropReason = (typeof DROP_REASONS)[number];

export const ACTION_COUNTERS = ['spawned', 'killed', 'delivered', 'notified', 'published', 'deduplicated', 'failed'] as const;
export type ActionCounter = (typeof ACTION_COUNTERS)[number];

export interface LastError {
  at: string;
  message: string;
  rule?: string;
}

export interface RuleStats {
  index: number;
  label: string;
  on: string;
  enabled: boolean;
  /** Events whose name matched `on`. */
  matched: number;
  fired: number;
  conditionFalse: number;
  conditionErrors: number;
  /** Edge rules: true again while already true, so not fired. */
  edgeHeld: number;
  dropped: Partial<Record<DropReason, number>>;
  lastFiredAt?: string;
  lastError?: LastError;
}

export interface OrchestratorStats {
  rulesFile: string;
  rules: number;
  eventsSeen: number;
  /** Events that made at least one rule fire. */
  eventsMatched: number;
  fired: number;
  dropped: Record<DropReason, number>;
  actions: Record<ActionCounter, number>;
  /** Spawn/kill actions waiting, and running. */
  pending: number;
  inFlight: number;
  lastError?: LastError;
  perRule: RuleStats[];
}

function zeroes<K extends string>(keys: readonly K[]): Record<K, number> {
  return Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
}

export class StatsBook {
  readonly #rules: RuleSet;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #perRule = new Map<CompiledRule, RuleStats>();
  #eventsSeen = 0;
  #eventsMatched = 0;
  #fired = 0;
  readonly #dropped = zeroes(DROP_REASONS);
  readonly #actions = zeroes(ACTION_COUNTERS);
  #lastError: LastError | undefined;

  constructor(rules: RuleSet, log: Logger, clock: Clock) {
    this.#rules = rules;
    this.#log = log;
    this.#clock = clock;
    for (const r of rules.rules) {
      this.#perRule.set(r, { index: r.index, label: r.label, on: r.on, enabled: r.enabled, matched: 0, fired: 0, conditionFalse: 0, conditionErrors: 0, edgeHeld: 0, dropped: {} });
    }
  }

  /** A fresh book for new rules that keeps the global counters (a reload is not a restart). */
  reset(rules: RuleSet): StatsBook {
    const next = new StatsBook(rules, this.#log, this.#clock);
    next.#eventsSeen = this.#eventsSeen;
    next.#eventsMatched = this.#eventsMatched;
    next.#fired = this.#fired;
    Object.assign(next.#dropped, this.#dropped);
    Object.assign(next.#actions, this.#actions);
    next.#lastError = this.#lastError;
    return next;
  }

  rule(rule: CompiledRule): RuleStats {
    const rs = this.#perRule.get(rule);
    if (rs) return rs;
    const created: RuleStats = { index: rule.index, label: rule.label, on: rule.on, enabled: rule.enabled, matched: 0, fired: 0, conditionFalse: 0, conditionErrors: 0, edgeHeld: 0, dropped: {} };
    this.#perRule.set(rule, created);
    return created;
  }

  seen(): void {
    this.#eventsSeen += 1;
  }

  matchedEvent(): void {
    this.#eventsMatched += 1;
  }

  fired(): void {
    this.#fired += 1;
  }

  action(counter: ActionCounter): void {
    this.#actions[counter] += 1;
  }

  dropped(reason: DropReason): number {
    return this.#dropped[reason];
  }

  drop(reason: DropReason, rule?: CompiledRule): void {
    this.#dropped[reason] += 1;
    let count = this.#dropped[reason];
    let where = '';
    if (rule) {
      const rs = this.rule(rule);
      count = (rs.dropped[reason] ?? 0) + 1;
      rs.dropped[reason] = count;
      where = `${rule.label}: `;
    }
    if (isPowerOfTen(count)) this.#log.warn(`${where}${count} event(s) dropped (${reason})`);
  }

  /** Records the last error; `occurrence` (the how-many-th of its kind) thins the log to powers of ten. */
  error(message: string, rule?: CompiledRule, occurrence?: number): void {
    const entry: LastError = { at: new Date(this.#clock.now()).toISOString(), message };
    if (rule) {
      entry.rule = rule.label;
      this.rule(rule).lastError = entry;
    }
    this.#lastError = entry;
    if (occurrence === undefined || isPowerOfTen(occurrence)) this.#log.warn(occurrence === undefined || occurrence === 1 ? message : `${message} (${occurrence} times)`);
  }

  snapshot(queues: { pending: number; inFlight: number }): OrchestratorStats {
    const out: OrchestratorStats = {
      rulesFile: this.#rules.file,
      rules: this.#rules.rules.length,
      eventsSeen: this.#eventsSeen,
      eventsMatched: this.#eventsMatched,
      fired: this.#fired,
      dropped: { ...this.#dropped },
      actions: { ...this.#actions },
      pending: queues.pending,
      inFlight: queues.inFlight,
      perRule: this.#rules.rules.map((r) => structuredClone(this.rule(r))),
    };
    if (this.#lastError) out.lastError = { ...this.#lastError };
    return out;
  }
}

function isPowerOfTen(n: number): boolean {
  for (let p = 1; p <= n; p *= 10) if (p === n) return true;
  return false;
}
