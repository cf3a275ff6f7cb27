/**
 * Fleet deployments in the daemon (issue 16; README "Deploying updates"), loaded with `await import()` only when
 * the MQTT link runs and `deploy.trustedKeys` names a key: without a trusted key every bundle would be refused, so
 * there is nothing to listen for (issue 12: nothing on the boot path that is not used). Started after the board's
 * Deployer; a failure is logged and shown in `status` as `fleet.error`, never fatal.
 */
import path from 'node:path';
import type { Clock } from '../clock.ts';
import type { Deployer } from '../deploy/deploy-types.ts';
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

export async function startFleet(o: {
  link: MqttLink | undefined;
  groups: readonly string[];
  deployer: Deployer;
  verify: VerifyBundle;
  fetch: FetchBundle;
  maxBundleBytes: number;
  home: string;
  clock: Clock;
  log: Logger;
}): Promise<FleetPart> {
  const failed = (error: string): FleetPart => {
    o.log.error(`fleet: not started: ${error}`);
    return { status: () => ({ error }), close: async () => undefined };
  };
  if (!o.link) return failed('no MQTT link (see `link` in status)');
  const store = new AppliedStore(path.join(o.home, 'fleet.json'));
  const loaded = await store.load();
  // A record that does not parse starts empty: the worst case is that a retained document is handled once more,
  // and the Deployer refuses a version that is not newer than the committed one.
  if (loaded.problem) o.log.warn(`fleet: record of applied documents ignored: ${loaded.problem}`);
  const fleet = new FleetDeployments({ link: o.link, groups: o.groups, deployer: o.deployer, verify: o.verify, fetch: o.fetch, store, maxBundleBytes: o.maxBundleBytes, clock: o.clock, log: o.log });
  try {
    fleet.start();
  } catch (err) {
    await fleet.close();
    return failed((err as Error).message);
  }
  return { status: () => ({ ...fleet.status() }), close: () => fleet.close() };
}
