/**
 * Fleet deployments over the MQTT broker the boards already use (issue 16 "For a fleet, over the broker"; README
 * "Deploying updates"):
 *   1. subscribes `<prefix>deploy` and `openstarry/groups/<group>/deploy` for each of `deploy.groups`, through the
 *      link, so a reconnect resubscribes and the broker hands over the retained document a board missed offline;
 *   2. a document is validated, then ignored when its sha256 is the last one handled for its template (the broker
 *      re-sends retained documents at every reconnect) or its version is older than the committed one;
 *   3. otherwise the bundle is fetched (the document's `url`, else the design-layer service), its sha256 checked
 *      FIRST, then its signature and template verified, then handed to the board's Deployer;
 *   4. progress and outcome go retained, QoS 1, on `<prefix>deploy/status` through the link's persisted queue, so
 *      an offline board's last status reaches the broker when it reconnects;
 *   5. a fetch nobody answered is tried again with backoff on the clock (fetch-retry.ts), `pending` with the reason
 *      meanwhile; a newer document for the template cancels the wait, and so does close().
 * Documents are handled one at a time; while one runs, at most the newest document per template waits (a bound:
 * one per template, and at most MAX_WAITING templates).
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../clock.ts';
import type { Logger } from '../logging/logger.ts';
import type { DeployOutcome, DeployPhase, DeployProgress, Deployer, VerifiedBundle } from '../deploy/deploy-types.ts';
import { DEFAULT_MAX_BUNDLE_BYTES } from '../design/bundle-limits.ts';
import { ErrorCode, OpenStarryError } from '../errors.ts';
import type { IncomingMessage } from '../link/incoming-dispatch.ts';
import type { MqttLink } from '../link/mqtt-link.ts';
import type { AppliedStore } from './applied-store.ts';
import { DEFAULT_RETRY, FetchRetries } from './fetch-retry.ts';
import { StatusPublisher } from './status-publisher.ts';
import type { RetryEntry, RetryPolicy } from './fetch-retry.ts';
import { DEVICE_DEPLOY_TOPIC, GROUPS_TOPIC, compareVersions, groupDeployTopic, parseDeployDocument } from './deploy-document.ts';
import type { DeployDocument } from './deploy-document.ts';

export type FleetLink = Pick<MqttLink, 'topicPrefix' | 'publish' | 'subscribe'>;

/** Checks a bundle's signature against the trusted keys and its template (runtime/design/ verifyBundle); throws a typed error when refused. */
export type VerifyBundle = (bytes: Uint8Array) => VerifiedBundle | Promise<VerifiedBundle>;
/** Fetches a document's bundle: its `url`, else the design-layer service; at most `maxBytes`, within `timeoutMs`. */
export type FetchBundle = (doc: DeployDocument, limits: { maxBytes: number; timeoutMs: number }) => Promise<Uint8Array>;

export interface FleetOptions {
  link: FleetLink;
  groups: readonly string[];
  /** The board's Deployer, asked for at the first document (the daemon opens it lazily, runtime/daemon/deploy-wiring.ts). */
  deployer: () => Promise<Deployer>;
  verify: VerifyBundle;
  fetch: FetchBundle;
  store: AppliedStore;
  clock: Clock;
  log?: Logger;
  /** Passed to the Deployer (default: its own). */
  healthWindowMs?: number;
  /** The cap on one bundle's download, checked while it streams (runtime/design/bundle-fetch.ts): the board's
   *  `deploy.maxBundleBytes` (runtime/daemon/fleet-wiring.ts passes it), the same cap the verifier then applies, so a
   *  bundle the board would refuse is not downloaded whole first. Default: the board's default, DEFAULT_MAX_BUNDLE_BYTES. */
  maxBundleBytes?: number;
  fetchTimeoutMs?: number;
  /** The backoff of a failed fetch (default DEFAULT_RETRY: 5 s doubling to 5 min). */
  retry?: Partial<RetryPolicy>;
  /** The jitter's source, in [0, 1) (default Math.random; a test fixes it). */
  random?: () => number;
}

/** A fetch waiting for its next attempt, in `status --json` (fleet.retrying). */
export interface FleetRetryStatus {
  templateId: string;
  version: string;
  /** Failed attempts so far. */
  attempts: number;
  nextRetryAt: string;
  reason: string;
}

export interface FleetStatus {
  groups: string[];
  /** Documents received (retained re-sends included). */
  documents: number;
  invalid: number;
  ignoredDuplicate: number;
  ignoredOlder: number;
  /** Waiting documents replaced by a newer one for the same template, or dropped past the bound. */
  superseded: number;
  fetchFailures: number;
  healthy: number;
  rolledBack: number;
  refused: number;
  /** Ended by the daemon's shutdown (the Deployer's close()): not recorded, so the retained document is handled again at the next boot. */
  interrupted: number;
  running?: { templateId: string; version: string };
  waiting: number;
  retrying: FleetRetryStatus[];
}

interface WaitingDocument {
  doc: DeployDocument;
  topic: string;
  /** Failed fetches of this same document so far, and the last one's reason. */
  failures?: number;
  lastReason?: string;
}

const MAX_WAITING = 64;
/** Refusals that depend on this board's own setup, not on the bundle alone: its trusted keys (read at each deployment),
 *  and a document without `url` on a board without `templates.url` (the only FLEET_DOCUMENT_INVALID that reaches
 *  #handle: a document that does not parse is refused in #onMessage). */
const BOARD_SETUP_CODES = new Set<string | undefined>([ErrorCode.BUNDLE_UNTRUSTED, ErrorCode.BUNDLE_KEY_INVALID, ErrorCode.FLEET_DOCUMENT_INVALID]);
const DEFAULT_FETCH_TIMEOUT_MS = 30_000;

export class FleetDeployments {
  readonly #o: FleetOptions;
  readonly #stops: Array<() => void> = [];
  readonly #waiting = new Map<string, WaitingDocument>();
  readonly #retries: FetchRetries<WaitingDocument>;
  readonly #counts = { documents: 0, invalid: 0, ignoredDuplicate: 0, ignoredOlder: 0, superseded: 0, fetchFailures: 0, healthy: 0, rolledBack: 0, refused: 0, interrupted: 0 };
  #running: { templateId: string; version: string } | undefined;
  #drain: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(options: FleetOptions) {
    this.#o = options;
    this.#retries = new FetchRetries({ clock: options.clock, policy: { ...DEFAULT_RETRY, ...options.retry }, random: options.random ?? Math.random, fire: (id, e) => this.#retryNow(id, e) });
  }

  /** Publishes the board's groups (retained) and subscribes the deployment topics. */
  start(): void {
    const { link } = this.#o;
    link.publish(GROUPS_TOPIC, JSON.stringify({ groups: this.#o.groups }), { qos: 1, retain: true });
    this.#stops.push(link.subscribe(DEVICE_DEPLOY_TOPIC, (m) => this.#onMessage(m), { qos: 1 }));
    for (const group of this.#o.groups) this.#stops.push(link.subscribe(groupDeployTopic(group), (m) => this.#onMessage(m), { qos: 1, absolute: true }));
  }

  status(): FleetStatus {
    const retrying = this.#retries.list().map((e) => ({ templateId: e.key, version: e.item.doc.version, attempts: e.failures, nextRetryAt: new Date(e.nextAt).toISOString(), reason: e.reason }));
    return { groups: [...this.#o.groups], ...this.#counts, ...(this.#running ? { running: { ...this.#running } } : {}), waiting: this.#waiting.size, retrying };
  }

  /**
   * Stops taking documents and waits for the one running. It never waits out a health window: the daemon closes
   * the Deployer first (runtime/deploy/deployer.ts close()), which ends a deployment in flight as `interrupted` at
   * once. Idempotent.
   */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      for (const stop of this.#stops.splice(0)) stop();
      this.#waiting.clear();
      this.#retries.close();
    }
    await this.#drain;
  }

  /** Settles when every document received so far has been handled (tests). */
  idle(): Promise<void> {
    return this.#drain;
  }

  #onMessage(m: IncomingMessage): void {
    if (this.#closed) return;
    // An empty retained payload clears the topic (MQTT 3.1.1 §3.3.1.3): nothing to deploy.
    if (m.payload.byteLength === 0) return;
    this.#counts.documents++;
    let doc: DeployDocument;
    try {
      doc = parseDeployDocument(m.topic, m.payload);
    } catch (err) {
      this.#counts.invalid++;
      this.#o.log?.warn('fleet: deployment document refused', { topic: m.topic, error: (err as Error).message });
      return;
    }
    // A document for a template whose fetch waits for a retry replaces the wait; the same document (a retained
    // re-send at a reconnect) keeps its count of failures, so the backoff does not start over at each reconnect.
    const retry = this.#retries.cancel(doc.templateId);
    const failures = retry?.item.doc.sha256 === doc.sha256 ? { failures: retry.failures, lastReason: retry.reason } : {};
    if (this.#waiting.has(doc.templateId)) this.#counts.superseded++;
    else if (this.#waiting.size >= MAX_WAITING) {
      this.#counts.superseded++;
      this.#o.log?.warn('fleet: too many templates waiting, document dropped', { topic: m.topic, templateId: doc.templateId });
      return;
    }
    // One link in the chain per waiting template (a replaced document reuses its template's): bounded by MAX_WAITING.
    const queued = this.#waiting.has(doc.templateId);
    this.#waiting.set(doc.templateId, { doc, topic: m.topic, ...failures });
    if (!queued) this.#drain = this.#drain.then(() => this.#next());
  }

  /** A retry's time has come: queued like a document, unless one for the template already waits (it is newer). */
  #retryNow(templateId: string, e: RetryEntry<WaitingDocument>): void {
    if (this.#closed || this.#waiting.has(templateId)) return;
    this.#waiting.set(templateId, { ...e.item, failures: e.failures, lastReason: e.reason });
    this.#drain = this.#drain.then(() => this.#next());
  }

  async #next(): Promise<void> {
    const first = this.#waiting.entries().next();
    if (first.done || this.#closed) return;
    const [templateId, item] = first.value;
    this.#waiting.delete(templateId);
    this.#running = { templateId, version: item.doc.version };
    try {
      await this.#handle(item);
    } catch (err) {
      this.#o.log?.error('fleet: deployment failed unexpectedly', { templateId, error: (err as Error).message });
    } finally {
      this.#running = undefined;
    }
  }

  async #handle(item: WaitingDocument): Promise<void> {
    const { doc, topic } = item;
    const { store, log } = this.#o;
    const record = store.get(doc.templateId);
    if (record?.last.sha256 === doc.sha256) {
      this.#counts.ignoredDuplicate++;
      return;
    }
    let deployer: Deployer;
    try {
      deployer = await this.#o.deployer();
      if (this.#closed) return; // the deployer opened during shutdown: nothing starts, nothing recorded
    } catch (err) {
      // The daemon began to stop (the fleet starts after READY=1, so NOT_READY means stopping): nothing recorded or
      // published; the retained document is handled at the next boot.
      if ((err as Partial<OpenStarryError>).code === ErrorCode.NOT_READY) return;
      // The board cannot deploy at all now (its deployments journal did not open): said on the status topic, not
      // recorded, so the retained document is tried again at the next reconnect or boot.
      const reason = `the board's deployer is not available: ${(err as Error).message}`;
      log?.error('fleet: deployment refused', { topic, templateId: doc.templateId, version: doc.version, reason });
      new StatusPublisher(this.#o.link, this.#o.clock, doc).publish({ phase: 'refused', reason });
      this.#counts.refused++;
      return;
    }
    const current = [record?.committed?.version, deployer.current(doc.templateId)].filter((v): v is string => v !== undefined).sort(compareVersions).pop();
    if (current !== undefined && compareVersions(doc.version, current) < 0) {
      this.#counts.ignoredOlder++;
      log?.info('fleet: older deployment ignored', { topic, templateId: doc.templateId, version: doc.version, current });
      return;
    }
    log?.info('fleet: deployment', { topic, templateId: doc.templateId, version: doc.version, sha256: doc.sha256 });
    const status = new StatusPublisher(this.#o.link, this.#o.clock, doc);
    const failures = item.failures ?? 0;
    status.publish({ phase: 'pending', ...(failures > 0 ? { reason: `fetch attempt ${failures + 1}; the last failed: ${item.lastReason ?? ''}` } : {}) });
    let bundle: VerifiedBundle;
    try {
      bundle = await this.#fetchAndVerify(doc);
      // Closed while it downloaded: no deployment starts during shutdown; nothing is recorded, so the retained
      // document is handled at the next boot.
      if (this.#closed) return;
    } catch (err) {
      let reason = (err as Error).message;
      const code = (err as Partial<OpenStarryError>).code;
      if (code === ErrorCode.FLEET_FETCH_FAILED) {
        // Nobody answered (service down, a timeout): not remembered, tried again after a backoff (fetch-retry.ts),
        // and at the next reconnect or boot. `pending` says so, with the reason and when.
        this.#counts.fetchFailures++;
        const delay = this.#retries.schedule(doc.templateId, { doc, topic }, failures + 1, reason);
        if (delay !== undefined) {
          const next = `${reason}; attempt ${failures + 1} failed, next in ${Math.ceil(delay / 1000)} s`;
          log?.warn('fleet: bundle fetch failed, will retry', { topic, templateId: doc.templateId, version: doc.version, reason: next });
          status.publishAgain({ phase: 'pending', reason: next });
          return;
        }
        reason = `${reason}; gave up after ${failures + 1} attempts: tried again at the next reconnect or boot`;
      } else if (!BOARD_SETUP_CODES.has(code)) {
        // A bundle that is not the document's, or fails verification, never will pass: remembered as handled.
        await this.#record(doc.templateId, status.entry('refused', reason), false);
      }
      // BOARD_SETUP_CODES: the board's own setup refused it; not remembered, so the document passes once the key (or
      // templates.url) is in place and the document is published again, or at the next reconnect or boot.
      log?.warn('fleet: deployment refused', { topic, templateId: doc.templateId, version: doc.version, reason });
      status.publish({ phase: 'refused', reason });
      this.#counts.refused++;
      return;
    }
    const outcome: DeployOutcome = await deployer.deploy(bundle, {
      origin: `mqtt:${topic}`,
      ...(this.#o.healthWindowMs !== undefined ? { healthWindowMs: this.#o.healthWindowMs } : {}),
      onProgress: (p: DeployProgress) => {
        // Only the final phase is reported from the outcome below, after it has been recorded.
        if (p.phase === 'pending' || p.phase === 'staged') status.publish(p);
      },
    });
    if (outcome.outcome === 'interrupted') {
      // Neither committed nor failed (deploy-types.ts): nothing recorded and no final phase published, as after a
      // power cut; the next boot resolves the journal and the retained document is handled again.
      this.#counts.interrupted++;
      log?.warn('fleet: deployment interrupted by the shutdown', { topic, templateId: doc.templateId, version: doc.version, reason: outcome.reason });
      return;
    }
    const phase: DeployPhase = outcome.outcome === 'committed' ? 'healthy' : outcome.outcome;
    const reason = outcome.outcome === 'committed' ? undefined : outcome.reason;
    await this.#record(doc.templateId, status.entry(phase, reason), phase === 'healthy');
    status.publish({ phase, ...(reason !== undefined ? { reason } : {}) });
    if (phase === 'healthy') this.#counts.healthy++;
    else if (phase === 'rolled-back') this.#counts.rolledBack++;
    else this.#counts.refused++;
    log?.info('fleet: deployment outcome', { topic, templateId: doc.templateId, version: doc.version, phase, ...(reason !== undefined ? { reason } : {}) });
  }

  /** Records an outcome; a record that cannot be written (a full or read-only home) is logged, and the outcome is
   *  still published and counted: at worst the retained document is handled once more at the next boot. */
  async #record(...args: Parameters<AppliedStore['record']>): Promise<void> {
    await this.#o.store.record(...args).catch((err: Error) => this.#o.log?.warn('fleet: record of the outcome not written', { templateId: args[0], error: err.message }));
  }

  /** sha256 of the bytes as fetched FIRST (issue 16: "the board checks sha256 and signature before anything else"), then the signature and template. */
  async #fetchAndVerify(doc: DeployDocument): Promise<VerifiedBundle> {
    let bytes: Uint8Array;
    try {
      bytes = await this.#o.fetch(doc, { maxBytes: this.#o.maxBundleBytes ?? DEFAULT_MAX_BUNDLE_BYTES, timeoutMs: this.#o.fetchTimeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS });
    } catch (err) {
      // A refusal of the answer itself (a 404, over the size cap: runtime/design/bundle-fetch.ts) will not change by
      // asking again; a server that did not answer may: only that one is FLEET_FETCH_FAILED, retried later.
      const code = (err as Partial<OpenStarryError>).code;
      if (code !== undefined && code !== ErrorCode.DESIGN_LAYER_UNREACHABLE) throw err;
      throw new OpenStarryError(ErrorCode.FLEET_FETCH_FAILED, `bundle ${doc.templateId}@${doc.version}: ${(err as Error).message}`, { cause: err });
    }
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (sha256 !== doc.sha256) throw new OpenStarryError(ErrorCode.FLEET_BUNDLE_MISMATCH, `bundle ${doc.templateId}@${doc.version}: sha256 ${sha256}, the document names ${doc.sha256}`);
    const bundle = await this.#o.verify(bytes);
    if (bundle.templateId !== doc.templateId || bundle.version !== doc.version) {
      throw new OpenStarryError(ErrorCode.FLEET_BUNDLE_MISMATCH, `bundle holds ${bundle.templateId}@${bundle.version}, the document names ${doc.templateId}@${doc.version}`);
    }
    return bundle;
  }
}
