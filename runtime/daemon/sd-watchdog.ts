/**
 * The systemd watchdog (systemd.service(5) WatchdogSec=, sd_watchdog_enabled(3)): systemd passes the interval in
 * WATCHDOG_USEC (and the pid it is meant for in WATCHDOG_PID); the daemon sends WATCHDOG=1 every half interval,
 * ONLY while it is healthy, so that a wedged daemon stops pinging and systemd restarts it (Restart=on-failure).
 *
 * Healthy means, at each ping:
 *   event loop   the ping timer fires at all: a loop blocked past systemd's deadline never fires it, and systemd
 *                restarts the daemon. A tick that fires late (more than maxLagMs, a quarter of the interval) is
 *                logged once per late run but still pings: the loop answers again, and withholding that ping would
 *                turn a stall the daemon survived into a restart.
 *   checks       every injected check answers; the daemon adds the supervisor's periodic usage tick (tickCheck):
 *                if that has not completed a round for longer than its limit, the supervisor is stuck.
 * When unhealthy the ping is withheld and the reason logged once (not at every tick); pinging resumes, with a line
 * saying so, when health returns before systemd's deadline.
 *
 * How often: half the interval, as sd_watchdog_enabled(3) advises. The systemd-notify fallback forks a process per
 * ping (~20 ms CPU per message on x86, several times that on a Pi: scripts/bench/sd-notify-bench.ts), so it pings
 * at most every FORK_MIN_PERIOD_MS unless the interval leaves no room (then two thirds of the interval).
 */
import type { Clock } from '../clock.ts';
import type { Logger } from '../logging/logger.ts';
import type { NotifyTransport, SdNotifier } from './sd-notify.ts';
import type { WatchdogStatus } from '../control/service-status.ts';

export const FORK_MIN_PERIOD_MS = 10_000;

export type WatchdogEnv = { intervalMs: number } | { off: string };

/** sd_watchdog_enabled(3): enabled when WATCHDOG_USEC is a positive number and WATCHDOG_PID, if set, is this pid. */
export function watchdogFromEnv(env: Readonly<Record<string, string | undefined>>, pid: number = process.pid): WatchdogEnv {
  const usec = env.WATCHDOG_USEC;
  if (usec === undefined || usec === '') return { off: 'WATCHDOG_USEC is not set (no WatchdogSec= in the unit)' };
  if (!/^\d+$/.test(usec) || Number(usec) === 0) return { off: `WATCHDOG_USEC is not a positive number of microseconds: "${usec}"` };
  const forPid = env.WATCHDOG_PID;
  if (forPid !== undefined && forPid !== '') {
    if (!/^\d+$/.test(forPid)) return { off: `WATCHDOG_PID is not a pid: "${forPid}"` };
    if (Number(forPid) !== pid) return { off: `WATCHDOG_PID ${forPid} is another process (this is ${pid})` };
  }
  return { intervalMs: Number(usec) / 1000 };
}

/** Half the interval; the forking fallback no more often than FORK_MIN_PERIOD_MS while the interval allows it. */
export function pingPeriodMs(intervalMs: number, transport: NotifyTransport): number {
  const half = intervalMs / 2;
  return transport === 'addon' ? half : Math.max(half, Math.min(FORK_MIN_PERIOD_MS, (intervalMs * 2) / 3));
}

export interface HealthCheck {
  readonly name: string;
  /** Undefined while healthy, else why not (one line for the log). */
  check(now: number): string | undefined;
}

/** A periodic tick is alive while it completed a round within `staleAfterMs` (clock ms, from the same clock). */
export function tickCheck(name: string, lastAt: () => number | undefined, staleAfterMs: number): HealthCheck {
  return {
    name,
    check(now) {
      const last = lastAt();
      if (last === undefined) return undefined; // not running yet: nothing to judge
      const age = now - last;
      return age > staleAfterMs ? `${name} last completed ${Math.round(age)} ms ago (limit ${Math.round(staleAfterMs)} ms)` : undefined;
    },
  };
}

export type { WatchdogStatus } from '../control/service-status.ts';

export interface SdWatchdogOptions {
  intervalMs: number;
  notifier: SdNotifier;
  clock: Clock;
  log: Logger;
  checks?: readonly HealthCheck[];
  /** How late the ping timer may fire before the lag is logged as a warning (default: a quarter interval). */
  maxLagMs?: number;
  /** Wall-clock time for lastPingAt in status (the injected clock is monotonic, not calendar time). */
  wallNow?: () => Date;
}

export class SdWatchdog {
  readonly intervalMs: number;
  readonly periodMs: number;
  readonly maxLagMs: number;
  readonly #o: SdWatchdogOptions;
  #state: 'idle' | 'pinging' | 'withheld' | 'stopped' = 'idle';
  #timer: unknown;
  #dueAt = 0;
  #pings = 0;
  #lastPingAt: Date | undefined;
  /** The failing check (by name) while pings are withheld, so its reason is logged once. */
  #withheld: { name: string; reason: string } | undefined;
  #sendError: string | undefined;
  #inFlight = false;
  /** The last tick fired more than maxLagMs late: logged once per late run. */
  #late = false;

  constructor(options: SdWatchdogOptions) {
    this.#o = options;
    this.intervalMs = options.intervalMs;
    this.periodMs = pingPeriodMs(options.intervalMs, options.notifier.transport);
    this.maxLagMs = options.maxLagMs ?? options.intervalMs / 4;
  }

  /** Pings at once (if healthy) and then every periodMs. Idempotent; does nothing once stopped. */
  start(): void {
    if (this.#state !== 'idle') return;
    this.#state = 'pinging';
    this.#dueAt = this.#o.clock.now();
    this.#tick();
  }

  /** Stops the timer (at shutdown, after STOPPING=1). Idempotent. */
  stop(): void {
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#state = 'stopped';
  }

  status(): WatchdogStatus {
    const reason = this.#withheld?.reason ?? this.#sendError;
    return {
      state: this.#state,
      intervalMs: this.intervalMs,
      periodMs: this.periodMs,
      maxLagMs: this.maxLagMs,
      pings: this.#pings,
      ...(this.#lastPingAt ? { lastPingAt: this.#lastPingAt.toISOString() } : {}),
      ...(reason !== undefined ? { reason } : {}),
    };
  }

  #tick(): void {
    this.#timer = undefined;
    if (this.#state === 'stopped') return;
    const now = this.#o.clock.now();
    const lag = now - this.#dueAt;
    // A late tick is logged, not withheld: the timer firing at all proves the event loop answers again, and the ping
    // still reaches systemd before its deadline (sd_watchdog_enabled(3)) unless the stall already outlasted it.
    // Withholding it would turn a stall the daemon survived (a slow SD card, a swap storm) into a restart. A loop
    // that stays blocked sends nothing, so systemd restarts a wedged daemon all the same.
    if (lag > this.maxLagMs) {
      if (!this.#late) this.#o.log.warn(`watchdog: the event loop answered ${Math.round(lag)} ms late (warning above ${Math.round(this.maxLagMs)} ms); it answers again, still pinging`);
      this.#late = true;
    } else this.#late = false;
    const unhealthy = this.#failingCheck(now);
    if (unhealthy) this.#withhold(unhealthy);
    else this.#ping();
    this.#dueAt = now + this.periodMs;
    this.#timer = this.#o.clock.setTimeout(() => this.#tick(), this.periodMs);
  }

  #failingCheck(now: number): { name: string; reason: string } | undefined {
    for (const c of this.#o.checks ?? []) {
      let reason: string | undefined;
      try {
        reason = c.check(now);
      } catch (err) {
        reason = `${c.name} check failed: ${(err as Error).message}`;
      }
      if (reason !== undefined) return { name: c.name, reason };
    }
    return undefined;
  }

  #withhold(unhealthy: { name: string; reason: string }): void {
    if (this.#withheld?.name !== unhealthy.name) {
      this.#o.log.warn(`watchdog: not pinging systemd: ${unhealthy.reason}; systemd restarts the daemon if no ping comes within ${Math.round(this.intervalMs)} ms`);
    }
    this.#withheld = unhealthy;
    this.#state = 'withheld';
  }

  #ping(): void {
    if (this.#withheld) this.#o.log.info(`watchdog: healthy again (${this.#withheld.name}), pinging systemd`);
    this.#withheld = undefined;
    this.#state = 'pinging';
    // A forked sender still running (systemd-notify waits for the manager's barrier) is not doubled up.
    if (this.#inFlight) return;
    this.#inFlight = true;
    this.#o.notifier
      .notify({ WATCHDOG: '1' })
      .then(
        () => {
          this.#pings += 1;
          this.#lastPingAt = (this.#o.wallNow ?? (() => new Date()))();
          if (this.#sendError !== undefined) this.#o.log.info('watchdog: pings reach systemd again');
          this.#sendError = undefined;
        },
        (err: Error) => {
          if (this.#sendError === undefined) this.#o.log.warn(`watchdog: ping failed: ${err.message}`);
          this.#sendError = `ping failed: ${err.message}`;
        },
      )
      .finally(() => (this.#inFlight = false));
  }
}
