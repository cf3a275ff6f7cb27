/**
 * The daemon's side of systemd's service protocol (systemd.service(5) Type=notify, sd_notify(3)): READY=1 with a
 * STATUS line once the boot is complete, then the watchdog (sd-watchdog.ts) while running; at shutdown STOPPING=1
 * first, then the watchdog's timer stops. Says once in the log which transport carries the notifications, and
 * reports both in `openstarry status` (systemd: { notify, watchdog }).
 */
import type { Clock } from '../clock.ts';
import type { Logger } from '../logging/logger.ts';
import type { SdNotifier } from './sd-notify.ts';
import { SdWatchdog, tickCheck, watchdogFromEnv } from './sd-watchdog.ts';
import type { SystemdStatus } from '../control/service-status.ts';

export type { SystemdStatus } from '../control/service-status.ts';

/** A periodic tick whose liveness the watchdog requires (the supervisor's usage tick). */
export interface LivenessTick {
  name: string;
  /** When it last completed a round, on the same clock. */
  lastAt: () => number | undefined;
  intervalMs: number;
}

export class SystemdService {
  readonly #notifier: SdNotifier;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #watchdogEnv: ReturnType<typeof watchdogFromEnv>;
  #watchdog: SdWatchdog | undefined;

  constructor(options: { notifier: SdNotifier; env: Readonly<Record<string, string | undefined>>; clock: Clock; log: Logger; pid?: number }) {
    this.#notifier = options.notifier;
    this.#clock = options.clock;
    this.#log = options.log;
    this.#watchdogEnv = options.notifier.enabled ? watchdogFromEnv(options.env, options.pid) : { off: 'NOTIFY_SOCKET is not set (not started by systemd)' };
  }

  /**
   * READY=1 (not awaited: nothing here depends on it), then the watchdog, which requires every tick to have
   * completed a round within the watchdog interval or two of its own intervals, whichever is longer.
   */
  ready(statusLine: string, ticks: readonly LivenessTick[] = []): void {
    if (!this.#notifier.enabled) {
      this.#log.debug('systemd: not started by systemd (no NOTIFY_SOCKET); no notifications');
      return;
    }
    void this.#notifier.notify({ READY: '1', STATUS: statusLine }).catch((err: Error) => this.#log.warn(`sd_notify failed: ${err.message}`));
    const wd = this.#watchdogEnv;
    if ('intervalMs' in wd) {
      const checks = ticks.map((t) => tickCheck(t.name, t.lastAt, Math.max(wd.intervalMs, 2 * t.intervalMs)));
      this.#watchdog = new SdWatchdog({ intervalMs: wd.intervalMs, notifier: this.#notifier, clock: this.#clock, log: this.#log, checks });
    }
    const watchdog = this.#watchdog ? `watchdog: WATCHDOG=1 every ${Math.round(this.#watchdog.periodMs)} ms while healthy (interval ${Math.round(this.#watchdog.intervalMs)} ms)` : `watchdog off: ${'off' in wd ? wd.off : ''}`;
    if (this.#notifier.transport === 'addon') this.#log.info(`systemd: notifications by the sd_notify addon; ${watchdog}`);
    else {
      this.#log.warn(
        `systemd: the sd_notify addon is not loaded (${this.#notifier.fallbackReason ?? 'unknown'}); forking systemd-notify per notification, which systemd accepts only with NotifyAccess=all; ${watchdog}`,
      );
    }
    this.#watchdog?.start();
  }

  /** STOPPING=1 first, then the watchdog stops. Idempotent. */
  stopping(): void {
    if (this.#notifier.enabled) void this.#notifier.notify({ STOPPING: '1' }).catch(() => undefined);
    this.#watchdog?.stop();
  }

  status(): SystemdStatus {
    const wd = this.#watchdogEnv;
    return {
      notify: this.#notifier.transport,
      ...(this.#notifier.fallbackReason !== undefined ? { notifyFallback: this.#notifier.fallbackReason } : {}),
      watchdog: this.#watchdog ? this.#watchdog.status() : { state: 'off', reason: 'off' in wd ? wd.off : 'not started: the daemon is not ready yet' },
    };
  }
}
