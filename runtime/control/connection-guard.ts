/**
 * The control socket's connection guard (issue 13, finding 5): a local program must not be able to hold the socket
 * shut. Every connection costs the daemon a file descriptor, so their number is capped; without more, 64 idle
 * connections locked the CLI out. Hence:
 *   - a connection with nothing in flight and no follow is closed after `idleTimeoutMs` without a complete request;
 *   - a request line must be complete within `requestTimeoutMs` of its first byte (a request trickling in);
 *   - at the cap, the connection idle the longest is evicted to make room for the new one, so the CLI, which sends
 *     its request as soon as it connects, gets in while the daemon is alive; only when every connection is busy (a
 *     request in flight or a follow) is a new one refused;
 *   - follows (`logs --follow`), legitimately long-lived and idle, are never timed out or evicted, so they may hold
 *     at most `maxFollowing` of the connections: the rest are kept for commands.
 * A connection closed by the guard gets one error line (ERR_CONTROL_BUSY, id null) before it is destroyed: the
 * daemon did nothing for it, so the client may safely send its request again (control-client.ts does).
 * Each closure is counted for `openstarry status` (`control`); the log gets a summary at most every 10 s, so a
 * flood of connections does not become a flood of log lines.
 */
import type { Clock } from '../clock.ts';
import { systemClock } from '../clock.ts';
import type { ControlSocketStats } from './protocol.ts';

/** Concurrent control connections; the CLI uses one per command, `logs -f` one each. */
export const MAX_CONNECTIONS = 64;
/** Connections that may hold a follow; the other 16 stay for commands. */
export const MAX_FOLLOWING = 48;
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
const SUMMARY_EVERY_MS = 10_000;
/** Refused connections lingering half-closed at once (startLinger). */
export const MAX_LINGERING_REFUSALS = 32;

export interface GuardOptions {
  clock?: Clock;
  maxConnections?: number;
  maxFollowing?: number;
  idleTimeoutMs?: number;
  requestTimeoutMs?: number;
}

/** What the guard needs of a connection. */
export interface Guarded {
  /** Nothing in flight and no follow: closing it loses nothing its client waits for. */
  readonly evictable: boolean;
  readonly following: boolean;
  /** When it connected or last completed a request (guard clock). */
  readonly lastActive: number;
  /** Writes the ERR_CONTROL_BUSY line with `reason` and destroys the connection. */
  closeBy(reason: string): void;
}

export type GuardClosure = 'idleClosed' | 'slowClosed' | 'evicted' | 'refused' | 'followsRefused';

export class ConnectionGuard {
  readonly clock: Clock;
  readonly maxConnections: number;
  readonly maxFollowing: number;
  readonly idleTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly #counts: Record<GuardClosure, number> = { idleClosed: 0, slowClosed: 0, evicted: 0, refused: 0, followsRefused: 0 };
  readonly #warn: (message: string) => void;
  #summarisedAt = -Infinity;
  #lingering = 0;
  #sinceSummary = 0;

  constructor(options: GuardOptions, warn: (message: string) => void) {
    this.clock = options.clock ?? systemClock;
    this.maxConnections = options.maxConnections ?? MAX_CONNECTIONS;
    this.maxFollowing = Math.min(options.maxFollowing ?? MAX_FOLLOWING, this.maxConnections - 1);
    this.idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.#warn = warn;
  }

  /** Room for one more connection: at the cap the longest idle one is evicted; false (counted) when all are busy. */
  admit(open: ReadonlySet<Guarded>): boolean {
    if (open.size < this.maxConnections) return true;
    let victim: Guarded | undefined;
    for (const c of open) if (c.evictable && (victim === undefined || c.lastActive < victim.lastActive)) victim = c;
    if (victim === undefined) {
      this.count('refused');
      return false;
    }
    this.count('evicted');
    victim.closeBy(`evicted: ${this.maxConnections} control connections were open and this one was idle the longest`);
    return true;
  }

  /** Whether one more connection may follow; counted when not. */
  mayFollow(open: ReadonlySet<Guarded>): boolean {
    let following = 0;
    for (const c of open) if (c.following) following += 1;
    if (following < this.maxFollowing) return true;
    this.count('followsRefused');
    return false;
  }

  count(closure: GuardClosure): void {
    this.#counts[closure] += 1;
    this.#sinceSummary += 1;
    const now = this.clock.now();
    if (now - this.#summarisedAt < SUMMARY_EVERY_MS) return;
    this.#summarisedAt = now;
    const c = this.#counts;
    this.#warn(`control socket guard: ${this.#sinceSummary} connection(s) closed or refused since the last note (totals: ${c.idleClosed} idle, ${c.slowClosed} slow, ${c.evicted} evicted, ${c.refused} refused, ${c.followsRefused} follows refused)`);
    this.#sinceSummary = 0;
  }

  /**
   * A refused connection may stay half-closed a moment so that its client reads why (control-server.ts refuseBusy);
   * at most MAX_LINGERING_REFUSALS at once per server, so a flood cannot pile them up. False: close it at once.
   */
  startLinger(): boolean {
    if (this.#lingering >= MAX_LINGERING_REFUSALS) return false;
    this.#lingering += 1;
    return true;
  }

  endLinger(): void {
    this.#lingering -= 1;
  }

  stats(connections: number): ControlSocketStats {
    return { connections, maxConnections: this.maxConnections, ...this.#counts };
  }
}
