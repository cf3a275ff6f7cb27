/**
 * The board's deployer (issue 16, README "Deploying updates"; the shapes: deploy-types.ts). One deployment:
 *
 *   refuse    a version that does not increase (semver), a bundle whose manifest does not match it, or one that
 *             fails validation: nothing run, the staged folder removed, counted
 *   stage     the files written and fsynced beside the current version (version-store.ts); journal: staged
 *   swap      journal: swapping; the running agent stopped (its stop(ctx) grace); its persisted state copied
 *             into the journal (phase watching) before the new version starts with the same agent id, so it
 *             hydrates from the same state (spec 002 phase 3)
 *   watch     the health window: the instance started must stay `running`, with no crash, restart or limit stop
 *   commit    one journal write: in-flight cleared, current := to, previous := from
 *   roll back otherwise: journal rolling-back, the new one stopped, the state copy restored, the previous version
 *             started again (when an agent ran before), the version recorded as failed with the reason
 * Deployments of one template run one at a time: a second is refused with ERR_DEPLOY_BUSY. A power cut at any
 * step: deploy-recovery.ts resolves the journal at the next boot.
 *
 * close() (the daemon's shutdown, first of all): a shutdown must not decide a deployment. Stopping the agents would
 * end the new version inside its window and look like a failure, and a window runs up to an hour, past systemd's
 * TimeoutStopSec (scripts/openstarryd.service). So a deployment in its window or swap ends `interrupted` with the
 * journal left in flight, and the next boot resolves it exactly as after a power cut (README "Deploying updates");
 * one not yet journaled is dropped (its staged folder removed), one waiting its turn never starts.
 */
import type { Blueprint } from '../design/blueprint.ts';
import { loadBlueprint, parseManifest } from '../design/blueprint.ts';
import { ErrorCode } from '../errors.ts';
import type { JsonValue } from '../state/state-schema.ts';
import type { DeployJournal, DeployDocument, InFlightPhase } from './deploy-journal.ts';
import { recordFailed } from './deploy-journal.ts';
import type { DeployerOptions } from './deploy-ports.ts';
import type { Deployer, DeployListEntry, DeployOptions, DeployOutcome, DeployProgress, DeployStats, VerifiedBundle } from './deploy-types.ts';
import { compareVersions } from './semver.ts';
import { KEEP_VERSIONS, VersionStore } from './version-store.ts';

export const DEFAULT_HEALTH_WINDOW_MS = 30_000;
const DEFAULT_POLL_MS = 200;
/** #startAndWatch's answer when close() ended the window. */
const INTERRUPTED = Symbol('interrupted');

/** One progress report: a phase or step and what it names (deploy-types.ts). */
type Report = (phase: DeployProgress['phase'], detail?: Pick<DeployProgress, 'reason' | 'from' | 'windowMs'>) => void;

export class BoardDeployer implements Deployer {
  readonly #o: DeployerOptions;
  readonly #journal: DeployJournal;
  readonly #versions: VersionStore;
  readonly #busy = new Set<string>();
  /** The end of the board's line of deployments: the journal has one in-flight record (deploy-journal.ts), so
   *  deployments of different templates run one after another, never side by side. */
  #line: Promise<void> = Promise.resolve();
  readonly #stats: Omit<DeployStats, 'inFlight'> = { applied: 0, rolledBack: 0, refused: 0, interrupted: 0 };
  /** Set by close(); #closing resolves then, ending a health window's wait at once. */
  #closed = false;
  #signalClose!: () => void;
  readonly #closing = new Promise<void>((resolve) => (this.#signalClose = resolve));

  constructor(journal: DeployJournal, options: DeployerOptions) {
    this.#journal = journal;
    this.#o = options;
    this.#versions = new VersionStore(options.root);
  }

  get versions(): VersionStore {
    return this.#versions;
  }

  current(templateId: string): string | undefined {
    return this.#journal.versions(templateId).current;
  }

  stats(): DeployStats {
    return { ...structuredClone(this.#stats), inFlight: [...this.#busy] };
  }

  /**
   * Ends the deployment in flight as `interrupted` (module comment: why) and resolves once the deployer is quiet:
   * the step running when it is called finishes (a journal write, the old version's stop(ctx) grace, a start), the
   * rest are not taken. Later deployments end `interrupted` at once. Idempotent.
   */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#signalClose();
    }
    await this.#line;
  }

  list(): DeployListEntry[] {
    const doc = this.#journal.document;
    return Object.keys(doc.templates).sort().map((templateId) => ({ templateId, ...doc.templates[templateId]! }));
  }

  /** Deploys a verified bundle (the CLI's file, a fleet document's download). Never throws for a refusal. */
  async deploy(bundle: VerifiedBundle, options: DeployOptions): Promise<DeployOutcome> {
    const id = bundle.templateId;
    const to = bundle.version;
    return this.#exclusive(id, to, options, async (report) => {
      const from = this.current(id) ?? this.#o.templates.baseline(id);
      if (from !== undefined && compareVersions(to, from) <= 0) return this.refuse(id, to, `version ${to} is not newer than ${from} (a deployment must raise the manifest's version)`, options);
      const manifestText = bundle.files.get('agent.json');
      if (!manifestText) return this.refuse(id, to, 'the bundle has no agent.json', options);
      try {
        const manifest = parseManifest(Buffer.from(manifestText).toString('utf8'), `${id}@${to}/agent.json`);
        if (manifest.id !== id || manifest.version !== to) return this.refuse(id, to, `the bundle says ${id}@${to} but its agent.json says ${manifest.id}@${manifest.version}`, options);
      } catch (err) {
        return this.refuse(id, to, (err as Error).message, options);
      }
      const existed = (await this.#versions.list(id)).includes(to);
      let blueprint: Blueprint;
      try {
        blueprint = await loadBlueprint(await this.#versions.stage(id, to, bundle.files));
      } catch (err) {
        if (!existed) await this.#versions.prune(id, new Set(await this.#kept(id)));
        return this.refuse(id, to, `the template does not validate: ${(err as Error).message}`, options);
      }
      report('verified');
      return this.#swap(id, to, blueprint, options, report);
    });
  }

  /** `openstarry deploy <templateId>@<version>`: runs a version kept on disk again (older ones too). */
  async redeploy(templateId: string, version: string, options: DeployOptions): Promise<DeployOutcome> {
    return this.#exclusive(templateId, version, options, async (report) => {
      if (!(await this.#versions.list(templateId)).includes(version)) {
        return this.refuse(templateId, version, `version ${version} of "${templateId}" is not kept on this board (kept: ${(await this.#kept(templateId)).join(', ') || 'none'})`, options);
      }
      if (this.current(templateId) === version) return this.refuse(templateId, version, `version ${version} of "${templateId}" is already current`, options);
      let blueprint: Blueprint;
      try {
        blueprint = await loadBlueprint(this.#versions.manifestPath(templateId, version));
      } catch (err) {
        return this.refuse(templateId, version, `the kept version does not validate: ${(err as Error).message}`, options);
      }
      report('verified');
      return this.#swap(templateId, version, blueprint, options, report);
    });
  }

  /** `openstarry deploy rollback <templateId>`: back to the previous committed version. */
  async rollback(templateId: string, options: DeployOptions): Promise<DeployOutcome> {
    const previous = this.#journal.versions(templateId).previous;
    if (previous === undefined) {
      this.#stats.refused += 1;
      return { outcome: 'refused', templateId, version: '', reason: `"${templateId}" has no previous deployed version to roll back to` };
    }
    return this.redeploy(templateId, previous, options);
  }

  async #exclusive(id: string, version: string, options: DeployOptions, body: (report: Report) => Promise<DeployOutcome>): Promise<DeployOutcome> {
    if (this.#closed) return this.#interrupted(id, version, undefined, options);
    if (this.#busy.has(id)) return this.refuse(id, version, `${ErrorCode.DEPLOY_BUSY}: a deployment of "${id}" is already in flight`, options);
    this.#busy.add(id);
    const report: Report = (phase, detail = {}) => {
      const { reason } = detail;
      this.#o.log.info(`deploy ${id}@${version}: ${phase}${reason ? ` (${reason})` : ''}`, { origin: options.origin });
      const p = { templateId: id, version, phase, ...detail, at: new Date().toISOString() } as DeployProgress;
      options.onProgress?.(p);
    };
    const before = this.#line;
    let done!: () => void;
    this.#line = new Promise<void>((resolve) => (done = resolve));
    try {
      report('pending');
      await before;
      const outcome = this.#closed ? this.#interrupted(id, version, undefined, options) : await body(report);
      this.#stats.last = { templateId: id, version, outcome: outcome.outcome, ...('reason' in outcome ? { reason: outcome.reason } : {}), at: new Date().toISOString() };
      return outcome;
    } finally {
      this.#busy.delete(id);
      done();
    }
  }

  /** A refusal decided before the deployer saw a bundle (an unreadable or untrusted one): counted and reported like its own. */
  refuse(templateId: string, version: string, reason: string, options: DeployOptions): DeployOutcome {
    this.#stats.refused += 1;
    this.#o.log.warn(`deploy ${templateId}@${version} refused: ${reason}`, { origin: options.origin });
    options.onProgress?.({ templateId, version, phase: 'refused', reason, at: new Date().toISOString() });
    return { outcome: 'refused', templateId, version, reason };
  }

  async #swap(id: string, to: string, blueprint: Blueprint, options: DeployOptions, report: Report): Promise<DeployOutcome> {
    const from = this.current(id);
    const back = from ?? this.#o.templates.baseline(id); // what the next boot runs if this one is interrupted
    if (this.#closed) {
      // Not journaled yet: dropped, and the folder just staged goes as a refusal's does (the kept versions stay).
      await this.#versions.prune(id, new Set(await this.#kept(id)));
      return this.#interrupted(id, to, undefined, options);
    }
    const wasRunning = this.#o.agents.live(id) !== undefined;
    await this.#journal.update((doc) => void (doc.inFlight = { templateId: id, ...(from ? { from } : {}), to, phase: 'staged', stateBackup: null, wasRunning }));
    report('staged');
    if (this.#closed) return this.#interrupted(id, to, { phase: 'staged', from: back }, options);
    await this.#journal.update((doc) => void (doc.inFlight!.phase = 'swapping'));
    // An agent that ended on its own meanwhile is not an error; one still live makes the start fail (rolled back).
    if (wasRunning) report('stopping', { from: back ?? '?' });
    if (wasRunning) await this.#o.agents.stop(id).catch((err: Error) => this.#o.log.warn(`deploy ${id}@${to}: stopping the running version: ${err.message}`));
    // Taken after the stop, so it holds what the old version saved in its stop(ctx).
    await this.#o.state.flush().catch((err: Error) => this.#o.log.warn(`deploy ${id}@${to}: state not flushed: ${err.message}`));
    const stateBackup: JsonValue = this.#o.state.get(id) ?? null;
    // The new version never ran: the journal stays at swapping, whose recovery keeps the state the old one saved.
    if (this.#closed) return this.#interrupted(id, to, { phase: 'swapping', from: back }, options);
    try {
      await this.#journal.update((doc) => Object.assign(doc.inFlight!, { phase: 'watching', stateBackup }));
    } catch (err) {
      // The journal cannot be written (a failing card): the old version runs again, the next boot resolves the rest.
      if (wasRunning) await this.restartCurrent(id);
      throw err;
    }
    const why = await this.#startAndWatch(id, blueprint, options.healthWindowMs ?? this.#o.healthWindowMs, report);
    // The new version is left running for the daemon's stopAll; the next boot puts the state copy back.
    if (why === INTERRUPTED) return this.#interrupted(id, to, { phase: 'watching', from: back }, options);
    if (why === undefined) {
      await this.#journal.update((doc) => commit(doc, id, to, from));
      this.#o.templates.setDeployed(id, blueprint);
      await this.#versions.prune(id, new Set(await this.#kept(id)));
      this.#stats.applied += 1;
      report('healthy');
      return { outcome: 'committed', templateId: id, version: to, ...(from ? { previous: from } : {}) };
    }
    await this.#rollBack(id, to, why, stateBackup, wasRunning);
    this.#stats.rolledBack += 1;
    report('rolled-back', { reason: why });
    return { outcome: 'rolled-back', templateId: id, version: to, reason: why };
  }

  /** Starts the new version and watches it for the health window; the reason it failed, undefined, or INTERRUPTED by close(). */
  async #startAndWatch(id: string, blueprint: Blueprint, windowMs: number, report: Report): Promise<string | undefined | typeof INTERRUPTED> {
    let started;
    try {
      started = await this.#o.agents.start(blueprint, id);
    } catch (err) {
      return `did not start: ${(err as Error).message}`;
    }
    if (started.state !== 'running') return `did not start: ${started.state}${started.reason ? ` (${started.reason})` : ''}`;
    if (this.#closed) return INTERRUPTED; // it runs: whether it is healthy is not known, so nothing is decided
    report('started');
    report('watching', { windowMs });
    const clock = this.#o.clock;
    const until = clock.now() + windowMs;
    const poll = this.#o.pollMs ?? DEFAULT_POLL_MS;
    while (clock.now() < until) {
      if (await this.#pause(Math.min(poll, Math.max(1, until - clock.now())))) return INTERRUPTED;
      const now = this.#o.agents.live(id);
      if (!now || now.pid !== started.pid) return 'stopped during the health window';
      if (now.restarts !== started.restarts) return `crashed and was restarted during the health window${now.reason ? `: ${now.reason}` : ''}`;
      if (now.state !== 'running') return `${now.state} during the health window${now.reason ? `: ${now.reason}` : ''}`;
    }
    if (blueprint.manifest.health === true) {
      // The manifest declares a health check (ctx.health): its last report in the window decides.
      const health = this.#o.agents.live(id)?.health;
      if (!health) return 'declares "health": true but sent no ctx.health() report during the health window';
      if (!health.ok) return `reported unhealthy: ${health.reason ?? 'no reason given'}`;
    }
    return undefined;
  }

  async #rollBack(id: string, to: string, why: string, stateBackup: JsonValue, wasRunning: boolean): Promise<void> {
    await this.#journal.update((doc) => void (doc.inFlight!.phase = 'rolling-back'));
    if (this.#o.agents.live(id)) await this.#o.agents.stop(id).catch((err: Error) => this.#o.log.warn(`deploy ${id}@${to}: stopping the new version: ${err.message}`));
    this.#o.state.set(id, stateBackup === null ? undefined : stateBackup);
    await this.#o.state.flush();
    await this.#journal.update((doc) => {
      doc.inFlight = null;
      recordFailed(doc, id, { version: to, reason: why, at: new Date().toISOString() });
    });
    await this.#versions.prune(id, new Set(await this.#kept(id)));
    if (wasRunning) await this.restartCurrent(id);
  }

  /** Waits `ms` on the clock; true, at once, when close() comes first (its timer cleared: none left behind). */
  async #pause(ms: number): Promise<boolean> {
    let handle: unknown;
    const slept = new Promise<false>((resolve) => (handle = this.#o.clock.setTimeout(() => resolve(false), ms)));
    try {
      return await Promise.race([slept, this.#closing.then(() => true)]);
    } finally {
      this.#o.clock.clearTimeout(handle);
    }
  }

  /**
   * The outcome of a deployment close() ended. `at`: the journal's in-flight phase it was left at, for the next
   * boot (deploy-recovery.ts); absent, nothing was journaled and nothing changed.
   */
  #interrupted(id: string, version: string, at: { phase: InFlightPhase; from: string | undefined } | undefined, options: DeployOptions): DeployOutcome {
    this.#stats.interrupted += 1;
    const reason = at === undefined
      ? `${ErrorCode.DEPLOY_INTERRUPTED}: the daemon is shutting down; the deployment had not started and nothing changed: deploy it again once the daemon runs`
      : `${ErrorCode.DEPLOY_INTERRUPTED}: the daemon is shutting down at ${at.phase}; neither committed nor failed: its next start rolls it back to ${at.from ?? 'the template it replaced'} as after a power cut (deploy list: failed, interrupted at ${at.phase}); deploy it again then`;
    this.#o.log.warn(`deploy ${id}@${version} interrupted: ${reason}`, { origin: options.origin });
    return { outcome: 'interrupted', templateId: id, version, reason };
  }

  /** Starts the template's current version (after a rollback, or at boot after an interrupted deployment). */
  async restartCurrent(id: string): Promise<void> {
    try {
      const s = await this.#o.agents.start(await this.#o.templates.fresh(id), id);
      if (s.state !== 'running') this.#o.log.warn(`deploy ${id}: the previous version did not come back: ${s.state}${s.reason ? ` (${s.reason})` : ''}`);
    } catch (err) {
      this.#o.log.warn(`deploy ${id}: the previous version did not come back: ${(err as Error).message}`);
    }
  }

  /** The versions of a template that stay on disk: the last KEEP_VERSIONS committed, current and previous. */
  async #kept(id: string): Promise<string[]> {
    const v = this.#journal.versions(id);
    return [...new Set([...v.kept, v.current, v.previous].filter((x): x is string => x !== undefined))];
  }
}

/** The commit: one write (deploy-journal.ts explains why that makes a power cut safe). */
function commit(doc: DeployDocument, id: string, to: string, from: string | undefined): void {
  const entry = (doc.templates[id] ??= { kept: [], failed: [] });
  entry.kept = [...entry.kept.filter((v) => v !== to), to].slice(-KEEP_VERSIONS);
  entry.current = to;
  if (from !== undefined) entry.previous = from;
  else delete entry.previous;
  entry.failed = entry.failed.filter((f) => f.version !== to);
  doc.inFlight = null;
}
