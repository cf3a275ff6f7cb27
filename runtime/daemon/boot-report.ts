/** Tracks the boot phases (spec 002 phases 1-3) for the log and for `openstarry status`. */
import type { BootPhaseName, BootPhaseReport } from '../control/protocol.ts';
import type { Logger } from '../logging/logger.ts';

export const BOOT_PHASES: readonly BootPhaseName[] = ['control', 'infrastructure', 'board', 'hal', 'design', 'master', 'recovery', 'rules'];

export class BootReport {
  readonly #phases = new Map<BootPhaseName, BootPhaseReport>();
  readonly #log: Logger;
  #current: BootPhaseName | 'ready' = 'control';
  #readyAfterMs: number | undefined;

  constructor(log: Logger) {
    this.#log = log;
    for (const name of BOOT_PHASES) this.#phases.set(name, { name, state: 'pending' });
  }

  get current(): BootPhaseName | 'ready' {
    return this.#current;
  }

  phases(): BootPhaseReport[] {
    return BOOT_PHASES.map((n) => ({ ...(this.#phases.get(n) as BootPhaseReport) }));
  }

  /** Runs one phase, recording start, duration and outcome; a throw marks it failed and propagates. */
  async run<T>(name: BootPhaseName, body: () => Promise<T>, describe?: (result: T) => { detail: string; degraded?: boolean }): Promise<T> {
    this.#current = name;
    const started = performance.now();
    const report: BootPhaseReport = { name, state: 'running', startedAt: new Date().toISOString() };
    this.#phases.set(name, report);
    this.#log.info(`phase ${name} started`);
    try {
      const result = await body();
      const d = describe?.(result);
      report.durationMs = Math.round((performance.now() - started) * 10) / 10;
      report.state = d?.degraded === true ? 'degraded' : 'done';
      if (d) report.detail = d.detail;
      this.#log.info(`phase ${name} ${report.state} (${report.durationMs} ms)${d ? `: ${d.detail}` : ''}`);
      return result;
    } catch (err) {
      report.durationMs = Math.round((performance.now() - started) * 10) / 10;
      report.state = 'failed';
      report.detail = (err as Error).message;
      this.#log.error(`phase ${name} failed: ${(err as Error).message}`);
      throw err;
    }
  }

  ready(): void {
    this.#current = 'ready';
    // performance.now() counts from the process's time origin, so this is the whole boot, config loading included.
    this.#readyAfterMs ??= Math.round(performance.now() * 10) / 10;
  }

  /** Milliseconds from the process start to ready(); undefined before (`/metrics`: openstarry_boot_duration_seconds). */
  get readyAfterMs(): number | undefined {
    return this.#readyAfterMs;
  }
}
