/**
 * The desired-agents journal and the clean-shutdown marker (spec 002 phase 1.3: "the daemon scans the previous
 * run for an abnormal interruption"). The daemon records which agents should be running; a clean stop sets the
 * marker, each boot clears it. A boot that finds it cleared knows the previous run ended without a clean stop
 * (power cut, OOM kill, SIGKILL) and gets back the agents that were meant to be running.
 */
import { ErrorCode, OpenStarryError } from '../errors.ts';
import { zodProblems } from '../validation.ts';
import type { DocumentHost } from './document-host.ts';
import { desiredListSchema } from './state-schema.ts';
import type { DesiredAgent } from './state-schema.ts';

export interface BootScan {
  /** The previous run did not end with markCleanShutdown(), or its state file was lost to corruption. */
  abnormal: boolean;
  /** Why it counts as abnormal; absent when it does not. */
  reason?: string;
  /** The agents the previous run meant to keep running (empty when its journal was lost). */
  previousDesired: DesiredAgent[];
  /** This boot's number, 1 on a first boot. */
  bootCount: number;
}

export class StateJournal {
  readonly #host: DocumentHost;
  #boot: Promise<BootScan> | undefined;

  constructor(host: DocumentHost) {
    this.#host = host;
  }

  /**
   * Once per daemon run, before anything else changes the journal: reports how the previous run ended, then
   * clears the marker and writes at once, so a power cut from here on is detected at the next boot. Later calls
   * return the first scan. A failed write is logged, not thrown: a read-only or full card must not stop the
   * boot (the coalesced flush keeps retrying, and `stats.lastError` shows it).
   */
  markBoot(): Promise<BootScan> {
    this.#boot ??= this.#markBoot();
    return this.#boot;
  }

  async #markBoot(): Promise<BootScan> {
    this.#host.assertOpen();
    const { doc, recovery } = this.#host;
    const journal = doc.journal;
    const previousDesired = journal.desired.map((d) => ({ ...d }));
    let reason: string | undefined;
    if (recovery.source === 'file' && !journal.cleanShutdown) reason = 'the previous run did not shut down cleanly';
    // A state file that had to be recovered is itself the trace of an interrupted write.
    else if (recovery.source !== 'file' && recovery.reason !== undefined) reason = `the state file was damaged: ${recovery.reason}`;
    journal.cleanShutdown = false;
    journal.bootCount += 1;
    journal.lastBootAt = this.#host.now();
    this.#host.changed();
    try {
      await this.#host.flush();
    } catch (err) {
      // The write path has logged the failure itself; this says what it costs.
      this.#host.log.warn('boot not recorded in the state file yet: an interruption of this run may go unnoticed', { error: (err as Error).message });
    }
    return reason === undefined
      ? { abnormal: false, previousDesired, bootCount: journal.bootCount }
      : { abnormal: true, reason, previousDesired, bootCount: journal.bootCount };
  }

  get desired(): DesiredAgent[] {
    return this.#host.doc.journal.desired.map((d) => ({ ...d }));
  }

  get cleanShutdown(): boolean {
    return this.#host.doc.journal.cleanShutdown;
  }

  /** Replaces the desired set; coalesced with other changes into the next flush. Throws ERR_STATE_INVALID. */
  setDesired(list: readonly DesiredAgent[]): void {
    this.#host.assertOpen();
    // An unchanged set (the supervisor re-announcing it at each state change) costs neither a check nor a write.
    if (JSON.stringify(list) === JSON.stringify(this.#host.doc.journal.desired)) return;
    const parsed = desiredListSchema.safeParse(list);
    if (!parsed.success) {
      const problems = zodProblems(parsed.error);
      throw new OpenStarryError(ErrorCode.STATE_INVALID, `desired agents: ${problems.map((p) => `${p.path || '(list)'}: ${p.message}`).join('; ')}`, {
        details: { problems },
      });
    }
    this.#host.doc.journal.desired = parsed.data;
    this.#host.changed();
  }

  /** Sets the marker and writes at once: the last thing a clean stop does before closing the DB. */
  async markCleanShutdown(): Promise<void> {
    this.#host.assertOpen();
    const journal = this.#host.doc.journal;
    journal.cleanShutdown = true;
    journal.lastShutdownAt = this.#host.now();
    this.#host.changed();
    await this.#host.flush();
  }
}
