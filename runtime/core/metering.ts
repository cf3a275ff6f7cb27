/**
 * ctx.metering (README "Writing an agent", spec 000 §1.1 "resource monitoring: ... tokens"): an agent reports the tokens it
 * spends (an LLM call's prompt + completion, say) and the daemon counts them against the manifest's
 * `limits.tokens`. The agent is the one that knows what it spent, so this is reporting, not prevention: the daemon
 * stops an agent once its reported use passes the budget (runtime/supervisor/token-meter.ts).
 *
 * Notes are coalesced: an agent calling tokens() in a tight loop sends at most one `metering.tokens` note per
 * `info` per FLUSH_MS (or sooner once FLUSH_TOKENS have accumulated), and whatever is pending is sent when the
 * core stops. Tokens pending when an isolate crashes (at most FLUSH_MS worth) are lost.
 * Pure: no node:* imports; the timer is injected so tests need no sleeping.
 */
import type { IsolateChannel, MeteringTokensNote } from './channel-methods.ts';
import { ErrorCode, OpenStarryError } from './errors.ts';
import type { IAgentMetering, JsonValue } from './plugin.ts';

/** The wire form of one coalesced report (declared in the channel's table); the daemon validates it again. */
export type { MeteringTokensNote } from './channel-methods.ts';

/** The same shape as runtime/clock.ts's Clock, declared here because the core imports nothing outside itself. */
export interface CoreTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const defaultTimers: CoreTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** Longest a report waits in the isolate before it is sent. */
export const FLUSH_MS = 100;
/** Pending tokens (all infos together) that send at once rather than waiting for the timer. */
export const FLUSH_TOKENS = 1_000_000;
/** Largest n one call may report: far above any single LLM call, low enough that sums stay exact integers. */
export const MAX_TOKENS_PER_CALL = 10_000_000;
/** Largest `info`, serialised. */
export const MAX_INFO_CHARS = 1024;
/** Distinct `info` values pending at once; one more sends them all first. */
export const MAX_PENDING_INFOS = 16;

export class Metering {
  readonly api: IAgentMetering;
  readonly #channel: IsolateChannel;
  readonly #timers: CoreTimers;
  /** Pending tokens by serialised info ('' = no info). */
  #pending = new Map<string, { n: number; info?: Record<string, JsonValue> }>();
  #pendingTotal = 0;
  #timer: unknown;
  #closed = false;

  constructor(channel: IsolateChannel, timers: CoreTimers = defaultTimers) {
    this.#channel = channel;
    this.#timers = timers;
    this.api = Object.freeze({ tokens: (n: number, info?: Record<string, JsonValue>) => this.#tokens(n, info) });
  }

  #tokens(n: unknown, info: unknown): void {
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > MAX_TOKENS_PER_CALL) {
      throw new OpenStarryError(ErrorCode.METERING_INVALID, `metering.tokens: n must be an integer from 0 to ${MAX_TOKENS_PER_CALL}, got ${describe(n)}`);
    }
    const key = infoKey(info);
    if (n === 0) return;
    const entry = this.#pending.get(key);
    if (entry) entry.n += n;
    else {
      if (this.#pending.size >= MAX_PENDING_INFOS) this.flush();
      this.#pending.set(key, info === undefined ? { n } : { n, info: JSON.parse(key) as Record<string, JsonValue> });
    }
    this.#pendingTotal += n;
    // After stop there is no later flush to wait for; large amounts go at once.
    if (this.#closed || this.#pendingTotal >= FLUSH_TOKENS) this.flush();
    else this.#timer ??= this.#timers.setTimeout(() => {
      this.#timer = undefined;
      this.flush();
    }, FLUSH_MS);
  }

  /** Sends everything pending now (one note per distinct info). */
  flush(): void {
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const entry of this.#pending.values()) this.#channel.notify('metering.tokens', entry satisfies MeteringTokensNote);
    this.#pending.clear();
    this.#pendingTotal = 0;
  }

  /** Flushes and stops batching: reports made after stop are sent at once (no timer outlives the core). */
  close(): void {
    this.flush();
    this.#closed = true;
  }
}

/** Validates `info` (a small plain-JSON object) and returns its canonical serialisation, '' when absent. */
function infoKey(info: unknown): string {
  if (info === undefined) return '';
  if (typeof info !== 'object' || info === null || Array.isArray(info)) {
    throw new OpenStarryError(ErrorCode.METERING_INVALID, 'metering.tokens: info must be a plain object such as { model: "..." }');
  }
  let text: string | undefined;
  try {
    text = JSON.stringify(info);
  } catch (err) {
    throw new OpenStarryError(ErrorCode.METERING_INVALID, `metering.tokens: info is not plain JSON: ${(err as Error).message}`);
  }
  if (text === undefined || text.length > MAX_INFO_CHARS) {
    throw new OpenStarryError(ErrorCode.METERING_INVALID, `metering.tokens: info must serialise to at most ${MAX_INFO_CHARS} characters`);
  }
  return text;
}

function describe(value: unknown): string {
  return typeof value === 'number' ? String(value) : typeof value;
}
