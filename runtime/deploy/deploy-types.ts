/**
 * The shapes the three parts of signed deployments share (issue 16):
 *   runtime/design/bundle*.ts   a signed bundle: pack, verify against the trusted keys   -> VerifiedBundle
 *   runtime/deploy/             the board's deployment: stage, swap, health window, commit or roll back -> DeployOutcome
 *   runtime/fleet/              deployment documents over MQTT, fetched bundles, progress on the status topic
 * Types only: each part imports these and none imports another's implementation but through them.
 */

/** A bundle whose signature, hash and template have been checked (runtime/design/bundle.ts verifyBundle()). */
export interface VerifiedBundle {
  templateId: string;
  /** The manifest's semantic version. */
  version: string;
  /** sha256 (hex) of the bundle file's bytes as received: what a fleet document names. */
  sha256: string;
  /** The signing key's fingerprint: sha256 (hex) of its public key in SPKI DER. */
  signer: string;
  /** The template's files by relative posix path (`agent.json` and its modules), as they are written on disk. */
  files: ReadonlyMap<string, Uint8Array>;
}

/** Where a deployment is, as reported on `openstarry/<deviceId>/deploy/status` and to `openstarry deploy`. */
export type DeployPhase = 'pending' | 'staged' | 'healthy' | 'rolled-back' | 'refused';

/**
 * The steps between those phases, reported only to `openstarry deploy` as they happen (README "Deploying updates"),
 * never on the status topic: verified (signature, version and template checked), stopping the running version,
 * started the new one, watching its health window.
 */
export type DeployStep = 'verified' | 'stopping' | 'started' | 'watching';

interface DeployProgressBase {
  templateId: string;
  version: string;
  /** Why, for `rolled-back` and `refused`: one line. */
  reason?: string;
  /** For `stopping`: the version being stopped. */
  from?: string;
  /** For `watching`: the health window's length. */
  windowMs?: number;
  /** ISO time. */
  at: string;
}

/** A union, so a check of `phase` against the status phases narrows the whole object (runtime/fleet/ publishes those). */
export type DeployProgress = (DeployProgressBase & { phase: DeployPhase }) | (DeployProgressBase & { phase: DeployStep });

/**
 * `interrupted`: the daemon began to stop (Deployer.close()) before the deployment ended. Neither committed nor
 * failed: a deployment already journaled stays in flight and the next boot resolves it as after a power cut
 * (deploy-recovery.ts); one not journaled yet was dropped with nothing changed. The reason says which.
 */
export type DeployOutcome =
  | { outcome: 'committed'; templateId: string; version: string; previous?: string }
  | { outcome: 'rolled-back' | 'refused' | 'interrupted'; templateId: string; version: string; reason: string };

/**
 * One template's versions as `openstarry deploy list` shows them: the deploy journal's record of it
 * (runtime/deploy/deploy-journal.ts, whose schema must produce this shape: deployer.ts list() is typed by it) and its id.
 */
export interface DeployListEntry {
  templateId: string;
  current?: string;
  previous?: string;
  /** Versions on disk, oldest first. */
  kept: string[];
  /** The last failed deployments, newest last. */
  failed: { version: string; reason: string; at: string }[];
}

/** The board's deployer's counters since boot (runtime/deploy/deployer.ts stats()): `openstarry status --json` shows them under `deploy`. */
export interface DeployStats {
  applied: number;
  rolledBack: number;
  refused: number;
  /** Ended by the daemon's shutdown (close()), neither committed nor failed. */
  interrupted: number;
  inFlight: string[];
  last?: { templateId: string; version: string; outcome: DeployOutcome['outcome']; reason?: string; at: string };
}

export interface DeployOptions {
  /** How long the new version must stay healthy before it is committed (default 30 s). */
  healthWindowMs?: number;
  /** Who asked: `cli`, `mqtt:<topic>`, for the log and the status. */
  origin: string;
  onProgress?: (progress: DeployProgress) => void;
}

/** The board's deployer (runtime/deploy/), as the control plane and the fleet part use it. */
export interface Deployer {
  /** Runs one deployment to its outcome; deployments of one template run one at a time. Never throws for a refusal. */
  deploy(bundle: VerifiedBundle, options: DeployOptions): Promise<DeployOutcome>;
  /** The committed version of a template, if any. */
  current(templateId: string): string | undefined;
}
