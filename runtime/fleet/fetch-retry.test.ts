// The retry of a fleet bundle fetch nobody answered (README "Deploying updates"), on a ManualClock: a real mosquitto,
// the real MQTT link, real HTTP (a closed port, then a real server); the Deployer and verifier are the small fakes
// of fleet-deployments.test.ts's kind. The backoff's arithmetic is checked on its own first.
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import mqtt from 'mqtt';
import t from 'tap';
import { startFileServer } from '../../scripts/testing/file-server.ts';
import { startMosquitto } from '../../scripts/testing/mosquitto.ts';
import { recordMessages, waitFor } from '../../scripts/testing/mqtt-test-kit.ts';
import { requireTool } from '../../scripts/testing/system-deps.ts';
import type { DeployOutcome, Deployer, VerifiedBundle } from '../deploy/deploy-types.ts';
import { fetchBundleUrl } from '../design/bundle-fetch.ts';
import { makeLink } from '../link/link.test-support.ts';
import { ManualClock } from '../manual-clock.ts';
import { AppliedStore } from './applied-store.ts';
import { DEFAULT_RETRY, retryDelay } from './fetch-retry.ts';
import { FleetDeployments } from './fleet-deployments.ts';
import type { FetchBundle } from './fleet-deployments.ts';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const bundleBytes = (version: string) => Buffer.from(JSON.stringify({ templateId: 'climate', version }));
const verify = (bytes: Uint8Array): VerifiedBundle => {
  const v = JSON.parse(Buffer.from(bytes).toString()) as { templateId: string; version: string };
  return { templateId: v.templateId, version: v.version, sha256: sha(bytes), signer: 'k', files: new Map() };
};
function deployer(): Deployer & { deployed: string[] } {
  const deployed: string[] = [];
  return {
    deployed,
    current: () => deployed.at(-1),
    deploy: (b): Promise<DeployOutcome> => {
      deployed.push(b.version);
      return Promise.resolve({ outcome: 'committed', templateId: b.templateId, version: b.version });
    },
  };
}

t.test('the backoff: 5 s doubling to 5 min, jittered ±25%', async (t) => {
  t.same([1, 2, 3, 4, 5, 6, 7, 8, 40].map((n) => retryDelay(DEFAULT_RETRY, n, 0.5)), [5_000, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000]);
  t.equal(retryDelay(DEFAULT_RETRY, 1, 0), 3_750);
  t.equal(retryDelay(DEFAULT_RETRY, 1, 0.999_999), 6_250);
  t.equal(retryDelay(DEFAULT_RETRY, 9, 0.999_999), 375_000);
});

/** A port nothing listens on: a server bound, then closed. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

t.test('a fetch nobody answered is retried on the clock with backoff, pending with the reason, until the service answers', async (t) => {
  if (!requireTool(t, 'mosquitto', 'mosquitto')) return;
  const dir = t.testdir();
  const broker = await startMosquitto({ dir });
  t.teardown(() => broker.kill());
  const files = await startFileServer(t);
  const down = `http://127.0.0.1:${await deadPort()}`;
  let up = false;
  const fetched: string[] = [];
  // The document's url on the real server; while "down", the same path on a port nobody listens on.
  const fetch: FetchBundle = (doc, limits) => {
    const url = up ? doc.url! : doc.url!.replace(files.base, down);
    fetched.push(url);
    return fetchBundleUrl(url, limits);
  };
  const clock = new ManualClock();
  const link = await makeLink(t, { url: broker.url });
  await link.start();
  const board = deployer();
  const fleet = new FleetDeployments({ link, groups: ['greenhouse'], deployer: async () => board, verify, fetch, store: new AppliedStore(`${dir}/fleet.json`), clock, random: () => 0.5 });
  t.teardown(() => fleet.close());
  fleet.start();
  const rec = await recordMessages(broker.url, ['openstarry/dev1/deploy/status']);
  t.teardown(() => rec.close());
  const publisher = await mqtt.connectAsync(broker.url);
  t.teardown(() => publisher.endAsync(true));
  const push = async (version: string) => {
    const bytes = bundleBytes(version);
    const doc = { templateId: 'climate', version, sha256: sha(bytes), url: files.serve(`climate-${version}.osb`, bytes) };
    await publisher.publishAsync('openstarry/groups/greenhouse/deploy', JSON.stringify(doc), { qos: 1, retain: true });
  };
  const lastStatus = () => JSON.parse(rec.messages.at(-1)?.payload ?? '{}') as { version?: string; phase?: string; reason?: string };

  await push('2.0.0');
  await waitFor(() => fleet.status().retrying.length === 1, 'the first failure to schedule a retry');
  const start = clock.now();
  t.match(fleet.status(), { fetchFailures: 1, refused: 0, retrying: [{ templateId: 'climate', version: '2.0.0', attempts: 1, nextRetryAt: new Date(start + 5_000).toISOString(), reason: /ECONNREFUSED|refused/i }] });
  await waitFor(() => lastStatus().reason?.includes('next in 5 s') === true, 'pending with the reason on deploy/status');
  t.match(lastStatus(), { version: '2.0.0', phase: 'pending', reason: /attempt 1 failed, next in 5 s/ });
  t.equal(clock.pending, 1, 'one timer: the retry');

  clock.advance(4_999);
  t.equal(fetched.length, 1, 'not before its time');
  clock.advance(1);
  await waitFor(() => fleet.status().fetchFailures === 2 && fleet.status().retrying.length === 1, 'the second attempt to fail');
  t.match(fleet.status().retrying[0], { attempts: 2, nextRetryAt: new Date(start + 5_000 + 10_000).toISOString() }, 'the wait doubled');
  await waitFor(() => lastStatus().reason?.includes('next in 10 s') === true, 'the second pending');

  // A restart: close() cancels the wait; the next run gets the retained document from the broker and tries at once.
  await link.close();
  const link2 = await makeLink(t, { url: broker.url });
  const fleet2 = new FleetDeployments({ link: link2, groups: ['greenhouse'], deployer: async () => board, verify, fetch, store: new AppliedStore(`${dir}/fleet.json`), clock, random: () => 0.5 });
  t.teardown(() => fleet2.close());
  await fleet.close();
  t.equal(clock.pending, 0, 'close() cancelled the wait');
  t.same(fleet.status().retrying, []);

  // The service comes up; the new board's retry reaches it and the deployment is healthy.
  await link2.start();
  fleet2.start();
  await waitFor(() => fleet2.status().retrying.length === 1, 'the new board to fail once and wait');
  up = true;
  clock.advance(5_000);
  await waitFor(() => fleet2.status().healthy === 1, 'the deployment once the service answers');
  t.same(board.deployed, ['2.0.0']);
  t.same(fleet2.status().retrying, []);
  t.equal(clock.pending, 0, 'no timer left');
  await waitFor(() => lastStatus().phase === 'healthy', 'healthy on deploy/status');

  // A newer document cancels the wait of an older one.
  up = false;
  await push('3.0.0');
  await waitFor(() => fleet2.status().retrying[0]?.version === '3.0.0', '3.0.0 to wait for a retry');
  await push('4.0.0');
  await waitFor(() => fleet2.status().retrying[0]?.version === '4.0.0', '4.0.0 to replace the wait');
  t.equal(fleet2.status().retrying.length, 1);
  t.equal(fleet2.status().retrying[0]?.attempts, 1, 'a new document starts its own count');
  t.equal(clock.pending, 1, "the older document's timer was cleared");
  up = true;
  clock.advance(5_000);
  await waitFor(() => fleet2.status().healthy === 2, '4.0.0 deployed');
  t.same(board.deployed, ['2.0.0', '4.0.0'], '3.0.0 never fetched again');
});

t.test('after maxAttempts failures the fetch is refused and not retried on the clock', async (t) => {
  if (!requireTool(t, 'mosquitto', 'mosquitto')) return;
  const dir = t.testdir();
  const broker = await startMosquitto({ dir });
  t.teardown(() => broker.kill());
  const down = `http://127.0.0.1:${await deadPort()}`;
  const clock = new ManualClock();
  const link = await makeLink(t, { url: broker.url });
  await link.start();
  const fleet = new FleetDeployments({ link, groups: ['g'], deployer: async () => deployer(), verify, fetch: (_doc, limits) => fetchBundleUrl(`${down}/x.osb`, limits), store: new AppliedStore(`${dir}/fleet.json`), clock, retry: { maxAttempts: 2 }, random: () => 0 });
  t.teardown(() => fleet.close());
  fleet.start();
  const publisher = await mqtt.connectAsync(broker.url);
  t.teardown(() => publisher.endAsync(true));
  const bytes = bundleBytes('2.0.0');
  await publisher.publishAsync('openstarry/groups/g/deploy', JSON.stringify({ templateId: 'climate', version: '2.0.0', sha256: sha(bytes), url: `${down}/x.osb` }), { qos: 1, retain: true });
  await waitFor(() => fleet.status().retrying.length === 1, 'the first failure');
  clock.advance(3_750);
  await waitFor(() => fleet.status().refused === 1, 'the second failure to give up');
  t.match(fleet.status(), { fetchFailures: 2, retrying: [] });
  t.equal(clock.pending, 0);
});
