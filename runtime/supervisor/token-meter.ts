/**
 * The daemon's side of ctx.metering (spec 000 §1.1 token monitoring, README "Resource limits", `limits.tokens`): counts the
 * tokens an agent instance reports in `metering.tokens` notes and says when the manifest's budget is spent.
 *
 * One meter per supervised instance (one pid), so the count survives restarts by the restart policy — a budget
 * refilled by every crash would be no budget — and starts at 0 only when a user (or an agent with
 * `agents:*:spawn`) spawns the agent again, which makes a new instance with a new pid. It is not persisted: a
 * daemon restart starts the agents it restores at 0.
 *
 * The isolate is untrusted: notes are validated again here (the core's own checks can be bypassed by agent code
 * that posts on the channel directly). A bad note is ignored and logged once per meter.
 */
import type { JsonValue } from '../core/plugin.ts';

/** Largest `n` one note may carry (the core coalesces many calls into one note, so above its per-call cap). */
export const MAX_TOKENS_PER_NOTE = Number.MAX_SAFE_INTEGER;
const MAX_INFO_CHARS = 1024;

export interface TokenReport {
  n: number;
  info?: Record<string, JsonValue>;
}

/** A valid report from an untrusted note, or the reason it is not one. */
export function parseTokenNote(raw: unknown): TokenReport | string {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return 'not an object';
  const { n, info } = raw as { n?: unknown; info?: unknown };
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) return `n is not a non-negative integer (${typeof n === 'number' ? n : typeof n})`;
  if (info === undefined) return { n };
  if (typeof info !== 'object' || info === null || Array.isArray(info)) return 'info is not an object';
  let text: string;
  try {
    text = JSON.stringify(info);
  } catch {
    return 'info is not plain JSON';
  }
  if (text.length > MAX_INFO_CHARS) return `info is longer than ${MAX_INFO_CHARS} characters`;
  return { n, info: JSON.parse(text) as Record<string, JsonValue> };
}

export class TokenMeter {
  /** limits.tokens; undefined = counted, not limited. */
  readonly budget: number | undefined;
  #used = 0;
  #badNotes = 0;

  constructor(budget: number | undefined) {
    this.budget = budget;
  }

  get used(): number {
    return this.#used;
  }

  /** Invalid notes ignored so far. */
  get badNotes(): number {
    return this.#badNotes;
  }

  /**
   * Counts one note. Returns the failure reason when this report took the total past the budget (every later
   * report past it too: a restarted agent that spends again is stopped again), otherwise undefined.
   * `onBad` is called for the first invalid note only.
   */
  record(raw: unknown, onBad: (why: string) => void, onReport?: (report: TokenReport) => void): string | undefined {
    const report = parseTokenNote(raw);
    if (typeof report === 'string') {
      if (this.#badNotes++ === 0) onBad(report);
      return undefined;
    }
    if (report.n === 0) return undefined;
    this.#used = Math.min(Number.MAX_SAFE_INTEGER, this.#used + report.n);
    onReport?.(report);
    return this.exhausted();
  }

  /** The token-budget failure reason when the total is past the budget. */
  exhausted(): string | undefined {
    if (this.budget === undefined || this.#used <= this.budget) return undefined;
    return `token-budget: used ${this.#used} of ${this.budget} tokens`;
  }
}
