/**
 * Fleet deployments in the daemon (issue 16; README "Deploying updates"), loaded with `await import()` only when
 * the MQTT link runs and trusted-key paths are configured (`deploy.trustedKeys` or OPENSTARRY_TRUSTED_KEYS): without
 * any every bundle would be refused, so there is nothing to listen for (issue 12: nothing on the boot path that is
 * not used). The keys themselves are read at each deployment, as `openstarry deploy` reads them (bundle.ts
 * verifyWithTrustedKeys): a folder still empty at start only makes each refusal say "no trusted keys". Started after the `rules` phase, with the board's Deployer; a failure is logged and shown in `status` as
 * `fleet.error`, never fatal. Composes the three parts: the fleet subscriber (runtime/fleet/), the bundle fetch and
 * verification (runtime/design/bundle*.ts) and the Deployer (runtime/deploy/).
 */
import path from 'node:path';
import type { Clock } from '../clock.ts';
import type { DeployConfig } from '../deploy/config.ts';
import type { Deployer } from '../deploy/deploy-types.ts';
import { fetchBundle, fetchBundleUrl } from '../design/bundle-fetch.ts';
import { loadTrustedKeys, verifyWithTrustedKeys } from '../design/bundle.ts';
import { ErrorCode, OpenStarryError } from '../errors.ts';
import { AppliedStore } from '../fleet/applied-store.ts';
import { FleetDeployments } from '../fleet/fleet-deployments.ts';
import type { FetchBundle, VerifyBundle } from '../fleet/fleet-deployments.ts';
import type { MqttLink } from '../link/mqtt-link.ts';
import type { Logger } from '../logging/logger.ts';

/** What the daemon keeps: the counters for `status --json` and close() for the shutdown. */
export interface FleetPart {
  status(): { error?: string } & Record<string, unknown>;
  close(): Promise<void>;
}

/** How long one bundle download may take, connection to last byte. */
const FETCH_TIMEOUT_MS = 30_000;

export async function startFleet(o: {
  link: MqttLink | undefined;
  deploy: Pick<DeployConfig, 'groups' | 'maxBundleBytes'>;
  trustedKeyPaths: readonly string[];
  /** The design-layer service (`templates.url`): where a document without `url` finds its bundle. */
  templatesUrl: string | undefined;
  /** The Deployer, opened at the first document (runtime/daemon/deploy-wiring.ts): a board that is never sent one loads none of it. */
  deployer: () => Promise<Deployer>;
  home: string;
  clock: Clock;
  log: Logger;
}): Promise<FleetPart> {
  const failed = (error: string): FleetPart => {
    o.log.error(`fleet: not started: ${error}`);
    return { status: () => ({ error }), close: async () => undefined };
  };
  if (!o.link) return failed('no MQTT link (see `link` in status)');
  // Read once now only to say early what each deployment will find; a broken or empty key folder is not fatal.
  const keys = await loadTrustedKeys(o.trustedKeyPaths).then(
    (trust) => (trust.size === 0 ? `no trusted key in ${o.trustedKeyPaths.join(', ')} yet: every bundle is refused until one is added` : undefined),
    (err: Error) => err.message,
  );
  if (keys !== undefined) o.log.warn(`fleet: ${keys}`);
  const verify: VerifyBundle = (bytes) => verifyWithTrustedKeys(bytes, o.trustedKeyPaths, { maxBytes: o.deploy.maxBundleBytes, origin: 'fleet bundle' });
  const { templatesUrl } = o;
  const fetch: FetchBundle = (doc, limits) => {
    if (doc.url !== undefined) return fetchBundleUrl(doc.url, limits);
    if (templatesUrl !== undefined) return fetchBundle(templatesUrl, doc.templateId, doc.version, limits);
    return Promise.reject(new OpenStarryError(ErrorCode.FLEET_DOCUMENT_INVALID, `${doc.templateId}@${doc.version}: the document has no url and this board has no templates.url`));
  };
  const store = new AppliedStore(path.join(o.home, 'fleet.json'));
  const loaded = await store.load();
  // A record that does not parse starts empty: at worst a retained document is handled once more, and the
  // Deployer refuses a version that is not newer than the committed one.
  if (loaded.problem) o.log.warn(`fleet: record of applied documents ignored: ${loaded.problem}`);
  const fleet = new FleetDeployments({ link: o.link, groups: o.deploy.groups, deployer: o.deployer, verify, fetch, store, maxBundleBytes: o.deploy.maxBundleBytes, fetchTimeoutMs: FETCH_TIMEOUT_MS, clock: o.clock, log: o.log });
  try {
    fleet.start();
  } catch (err) {
    await fleet.close();
    return failed((err as Error).message);
  }
  return { status: () => ({ ...fleet.status() }), close: () => fleet.close() };
}
