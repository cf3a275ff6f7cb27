/**
 * The state DB as an infrastructure plugin (spec 002 phase 1.2; docs/ARCHITECTURE.md "Boot sequence"): first in the configured
 * order, so it is open before anything hydrates from it, and stopped last, after the agents' final saves.
 * start() opens the file and runs the abnormal-interruption scan (phase 1.3); stop() sets the clean-shutdown
 * marker and closes.
 */
import type { InfrastructurePlugin } from '../infrastructure-plugin.ts';
import { ErrorCode, OpenStarryError } from '../errors.ts';
import type { BootScan } from './state-journal.ts';
import { StateDb } from './state-db.ts';
import type { StateDbOptions, StateDbStats } from './state-db.ts';
import type { StateRecovery } from './state-recovery.ts';

/** What `openstarry status` shows for the state DB. */
export interface StateDbStatus {
  state: 'stopped' | 'running' | 'closed';
  file: string;
  recovery?: StateRecovery;
  boot?: BootScan;
  stats?: StateDbStats;
}

export class StateDbPlugin implements InfrastructurePlugin {
  readonly name = 'state-db';
  readonly #options: StateDbOptions;
  #db: StateDb | undefined;
  #boot: BootScan | undefined;
  #stopping: Promise<void> | undefined;
  #withhold = false;

  constructor(options: StateDbOptions) {
    this.#options = options;
  }

  async start(): Promise<void> {
    if (this.#db !== undefined) return;
    const db = await StateDb.open(this.#options);
    this.#boot = await db.journal.markBoot();
    this.#db = db;
    if (this.#boot.abnormal) this.#options.log?.warn('previous run was interrupted', { reason: this.#boot.reason, desired: this.#boot.previousDesired.length });
  }

  /** The open DB. Throws ERR_NOT_READY before start(). */
  get db(): StateDb {
    if (this.#db === undefined) throw new OpenStarryError(ErrorCode.NOT_READY, 'the state DB has not started');
    return this.#db;
  }

  /** The abnormal-interruption scan of this boot; undefined before start(). */
  get boot(): BootScan | undefined {
    return this.#boot;
  }

  status(): StateDbStatus {
    const db = this.#db;
    if (db === undefined) return { state: 'stopped', file: this.#options.file };
    const status: StateDbStatus = { state: db.closed ? 'closed' : 'running', file: db.file, recovery: db.recovery, stats: db.stats };
    if (this.#boot !== undefined) status.boot = this.#boot;
    return status;
  }

  /**
   * A boot that did not complete is not a clean run: the next boot must still see the previous run's journal as
   * interrupted and restore its agents (a failed boot writes neither the journal nor the clean-shutdown marker).
   */
  withholdCleanMark(): void {
    this.#withhold = true;
  }

  /** Idempotent; a never-started plugin stops as a no-op (InfrastructurePlugin contract). */
  stop(): Promise<void> {
    const db = this.#db;
    if (db === undefined) return Promise.resolve();
    this.#stopping ??= (async () => {
      try {
        // Closed by someone else already: the marker can no longer be written, and that is the honest result.
        if (!db.closed && !this.#withhold) await db.journal.markCleanShutdown();
      } finally {
        await db.close();
      }
    })();
    return this.#stopping;
  }
}
