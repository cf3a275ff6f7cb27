// Fleet deployments against a real mosquitto through the real MQTT link, bundles over a real HTTP server; the
// Deployer and the bundle verifier are small fakes of their interfaces (runtime/deploy/deploy-types.ts) — the
// 10-daemon e2e test (runtime/e2e/fleet.test.ts) runs the real ones — except in the shutdown test, which needs the
// real Deployer's close().
import { createHash } from 'node:crypto';
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import mqtt from 'mqtt';
import t from 'tap';
import type { Test } from 'tap';
import { startFileServer } from '../../scripts/testing/file-server.ts';
import { startMosquitto } from '../../scripts/testing/mosquitto.ts';
import { recordMessages, waitFor } from '../../scripts/testing/mqtt-test-kit.ts';
import { requireTool } from '../../scripts/testing/system-deps.ts';
import { systemClock } from '../clock.ts';
import type { DeployOptions, DeployOutcome, Deployer, VerifiedBundle } from '../deploy/deploy-types.ts';
import { ErrorCode, OpenStarryError } from '../errors.ts';
import { makeLink } from '../link/link.test-support.ts';
import { AppliedStore } from './applied-store.ts';
import { FleetDeployments } from './fleet-deployments.ts';
import type { FetchBundle, FleetOptions, VerifyBundle } from './fleet-deployments.ts';
import { ManualClock } from '../manual-clock.ts';
import { DeployJournal } from '../deploy/deploy-journal.ts';
import { openDeployer } from '../deploy/deploy-recovery.ts';
import { bundleOf, FakeAgents, FakeState, FakeTemplates, quietLog } from '../deploy/deploy.test-support.ts';
import { fetchBundleUrl } from '../design/bundle-fetch.ts';
import { DEFAULT_MAX_BUNDLE_BYTES } from '../design/bundle-limits.ts';
import type { DeployDocument } from './deploy-document.ts';

/** A fake bundle: JSON `{templateId, version, sig}`; the fake verifier refuses `sig: "bad"` as the real one would refuse a wrong signature. */
const bundleBytes = (templateId: string, version: string, sig = 'good') => Buffer.from(JSON.stringify({ templateId, version, sig }));
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function fakeVerify(bytes: Uint8Array): VerifiedBundle {
  const v = JSON.parse(Buffer.from(bytes).toString()) as { templateId: string; version: string; sig: string };
  if (v.sig !== 'good') throw new OpenStarryError(ErrorCode.INVALID_PARAMS, 'bundle signature does not verify against any trusted key');
  return { templateId: v.templateId, version: v.version, sha256: sha(bytes), signer: 'k', files: new Map() };
}

/** A Deployer whose outcome per version the test sets; it reports `staged` like the real one. */
function fakeDeployer(outcomes: Record<string, string | undefined> = {}): Deployer & { calls: Array<{ bundle: VerifiedBundle; options: DeployOptions }> } {
  const committed = new Map<string, string>();
  const calls: Array<{ bundle: VerifiedBundle; options: DeployOptions }> = [];
  return {
    calls,
    current: (id) => committed.get(id),
    deploy(bundle, options): Promise<DeployOutcome> {
      calls.push({ bundle, options });
      const at = new Date().toISOString();
      options.onProgress?.({ templateId: bundle.templateId, version: bundle.version, phase: 'staged', at });
      const reason = outcomes[bundle.version];
      if (reason !== undefined) return Promise.resolve({ outcome: 'rolled-back', templateId: bundle.templateId, version: bundle.version, reason });
      committed.set(bundle.templateId, bundle.version);
      return Promise.resolve({ outcome: 'committed', templateId: bundle.templateId, version: bundle.version });
    },
  };
}

async function world(t: Test) {
  if (!requireTool(t, 'mosquitto', 'mosquitto')) return undefined;
  const dir = t.testdir();
  const broker = await startMosquitto({ dir });
  t.teardown(() => broker.kill());
  const { base, serve } = await startFileServer(t);
  const publisher = await mqtt.connectAsync(broker.url);
  t.teardown(() => publisher.endAsync(true));
  const publish = (topic: string, doc: DeployDocument | string) => publisher.publishAsync(topic, typeof doc === 'string' ? doc : JSON.stringify(doc), { qos: 1, retain: true });
  // The board's real download (runtime/design/bundle-fetch.ts), size-capped and with a timeout.
  const fetchBytes: FetchBundle = (doc, limits) => fetchBundleUrl(doc.url ?? `${base}/missing`, limits);
  const stateFile = path.join(dir, 'fleet.json');
  async function board(deployer: Deployer, groups = ['greenhouse'], fetch = fetchBytes, verify: VerifyBundle = fakeVerify, extra: Partial<FleetOptions> = {}) {
    const link = await makeLink(t, { url: broker.url }, { queueDir: path.join(dir, 'queue') });
    const store = new AppliedStore(stateFile);
    t.same(await store.load(), {});
    const fleet = new FleetDeployments({ link, groups, deployer: async () => deployer, verify, fetch, store, clock: systemClock, ...extra });
    t.teardown(() => fleet.close());
    await link.start();
    fleet.start();
    return { link, fleet };
  }
  return { broker, serve, publish, board, stateFile };
}

t.test('a group document published while the board is offline is fetched, verified, deployed and reported healthy; not applied twice', async (t) => {
  const w = await world(t);
  if (!w) return;
  const bytes = bundleBytes('climate', '2.0.0');
  const doc = { templateId: 'climate', version: '2.0.0', sha256: sha(bytes), url: w.serve('climate-2.osb', bytes) };
  await w.publish('openstarry/groups/greenhouse/deploy', doc);

  const deployer = fakeDeployer();
  const { link, fleet } = await w.board(deployer);
  await waitFor(() => fleet.status().healthy === 1, 'the deployment to be healthy');
  t.equal(deployer.calls.length, 1);
  t.equal(deployer.calls[0]?.options.origin, 'mqtt:openstarry/groups/greenhouse/deploy');
  t.equal(deployer.calls[0]?.bundle.sha256, doc.sha256);

  await waitFor(() => link.state().queue.queued === 0, 'the status to reach the broker');
  // A subscriber arriving afterwards gets what is retained: the last status and the groups.
  const rec = await recordMessages(w.broker.url, ['openstarry/dev1/deploy/#']);
  t.teardown(() => rec.close());
  await waitFor(() => rec.messages.length === 2, 'the retained status and groups');
  const status = JSON.parse(rec.messages.find((m) => m.topic === 'openstarry/dev1/deploy/status')!.payload) as Record<string, unknown>;
  t.match(status, { templateId: 'climate', version: '2.0.0', sha256: doc.sha256, phase: 'healthy' });
  t.ok(rec.messages.every((m) => m.retain), 'status and groups are retained');
  t.same(JSON.parse(rec.messages.find((m) => m.topic === 'openstarry/dev1/deploy/groups')!.payload), { groups: ['greenhouse'] });
  t.match(JSON.parse(await readFile(w.stateFile, 'utf8')), { templates: { climate: { last: { sha256: doc.sha256, phase: 'healthy' }, committed: { version: '2.0.0' } } } });

  // A reboot: the broker hands the retained document over again; the record says it was applied.
  await fleet.close();
  await link.close();
  const again = fakeDeployer();
  const second = await w.board(again);
  await waitFor(() => second.fleet.status().ignoredDuplicate === 1, 'the re-sent document to be ignored');
  t.equal(again.calls.length, 0, 'not applied twice');

  // An older version than the committed one is ignored.
  const old = bundleBytes('climate', '1.5.0');
  await w.publish('openstarry/dev1/deploy', { templateId: 'climate', version: '1.5.0', sha256: sha(old), url: w.serve('old.osb', old) });
  await waitFor(() => second.fleet.status().ignoredOlder === 1, 'the older document to be ignored');
  t.equal(again.calls.length, 0);
});

t.test('sha256 is checked before the signature; a bad signature, a rollback and a bad document are reported', async (t) => {
  const w = await world(t);
  if (!w) return;
  const deployer = fakeDeployer({ '3.0.0': 'crashed at start (exit 1) in the health window' });
  const { fleet } = await w.board(deployer, ['greenhouse', 'north']);
  const rec = await recordMessages(w.broker.url, ['openstarry/dev1/deploy/status']);
  t.teardown(() => rec.close());
  const lastStatus = () => JSON.parse(rec.messages.at(-1)?.payload ?? '{}') as Record<string, unknown>;

  const bytes = bundleBytes('climate', '2.0.0');
  await w.publish('openstarry/groups/north/deploy', { templateId: 'climate', version: '2.0.0', sha256: 'a'.repeat(64), url: w.serve('x.osb', bytes) });
  await waitFor(() => lastStatus().phase === 'refused', 'the sha256 refusal');
  t.match(lastStatus().reason, /sha256 [0-9a-f]{64}, the document names a{64}/);

  const forged = bundleBytes('climate', '2.0.1', 'bad');
  await w.publish('openstarry/groups/north/deploy', { templateId: 'climate', version: '2.0.1', sha256: sha(forged), url: w.serve('f.osb', forged) });
  await waitFor(() => lastStatus().version === '2.0.1' && lastStatus().phase === 'refused', 'the signature refusal');
  t.match(lastStatus().reason, /signature/);

  const crash = bundleBytes('climate', '3.0.0');
  await w.publish('openstarry/groups/greenhouse/deploy', { templateId: 'climate', version: '3.0.0', sha256: sha(crash), url: w.serve('c.osb', crash) });
  await waitFor(() => lastStatus().phase === 'rolled-back', 'the rollback');
  t.match(lastStatus(), { version: '3.0.0', reason: 'crashed at start (exit 1) in the health window' });
  t.same(rec.messages.filter((m) => JSON.parse(m.payload).version === '3.0.0').map((m) => JSON.parse(m.payload).phase), ['pending', 'staged', 'rolled-back']);

  await w.publish('openstarry/groups/greenhouse/deploy', '{"templateId":"Climate","version":"x"}');
  await waitFor(() => fleet.status().invalid === 1, 'the invalid document to be counted');
  t.equal(deployer.calls.length, 1, 'only the verified bundle reached the deployer');
  t.match(fleet.status(), { groups: ['greenhouse', 'north'], refused: 2, rolledBack: 1, healthy: 0, invalid: 1 });
});

t.test("the download is capped at the board's deploy.maxBundleBytes, by default the board's default: a bundle the board would refuse is not downloaded whole", async (t) => {
  const w = await world(t);
  if (!w) return;
  const bytes = bundleBytes('climate', '2.0.0');
  await w.publish('openstarry/groups/greenhouse/deploy', { templateId: 'climate', version: '2.0.0', sha256: sha(bytes) });
  const asked: number[] = [];
  const first = await w.board(fakeDeployer(), ['greenhouse'], async (_doc, limits) => (asked.push(limits.maxBytes), bytes));
  await waitFor(() => first.fleet.status().healthy === 1, 'the deployment to be healthy');
  t.same(asked, [DEFAULT_MAX_BUNDLE_BYTES], 'no maxBundleBytes given: the cap of runtime/design/bundle-limits.ts');
  await first.fleet.close();
  await first.link.close();

  // The board's real download with a cap smaller than the bundle: refused while it streams, never verified or deployed.
  const big = Buffer.alloc(4096, 0x20);
  await w.publish('openstarry/groups/greenhouse/deploy', { templateId: 'climate', version: '3.0.0', sha256: sha(big), url: w.serve('big.osb', big) });
  const deployer = fakeDeployer();
  let verified = 0;
  const second = await w.board(deployer, ['greenhouse'], undefined, (b) => (verified++, fakeVerify(b)), { maxBundleBytes: 1024 });
  await waitFor(() => second.fleet.status().refused === 1, 'the oversized bundle to be refused');
  t.equal(verified, 0, 'not handed to the verifier');
  t.equal(deployer.calls.length, 0, 'not deployed');
  t.equal(second.fleet.status().fetchFailures, 0, 'a refusal, not a failure to try again');
  t.match(JSON.parse(await readFile(w.stateFile, 'utf8')), { templates: { climate: { last: { version: '3.0.0', phase: 'refused', reason: /1024-byte limit \(deploy\.maxBundleBytes\)/ } } } });
});

t.test('a board whose deployer cannot open says so on its status topic and tries the document again later', async (t) => {
  const w = await world(t);
  if (!w) return;
  const link = await makeLink(t, { url: w.broker.url });
  await link.start();
  const store = new AppliedStore(w.stateFile);
  const fleet = new FleetDeployments({ link, groups: ['greenhouse'], deployer: () => Promise.reject(new Error('journal.json: not JSON')), verify: fakeVerify, fetch: () => Promise.reject(new Error('not reached')), store, clock: systemClock });
  t.teardown(() => fleet.close());
  fleet.start();
  const rec = await recordMessages(w.broker.url, ['openstarry/dev1/deploy/status']);
  t.teardown(() => rec.close());
  await w.publish('openstarry/groups/greenhouse/deploy', { templateId: 'climate', version: '2.0.0', sha256: 'c'.repeat(64) });
  await waitFor(() => rec.messages.length === 1, 'the refusal on the status topic');
  t.match(JSON.parse(rec.messages[0]!.payload), { phase: 'refused', reason: "the board's deployer is not available: journal.json: not JSON" });
  t.equal(store.get('climate'), undefined, 'not recorded: tried again at the next reconnect or boot');
});

t.test('a document without url on a board without templates.url is refused and not remembered: it passes once the board is set up', async (t) => {
  const w = await world(t);
  if (!w) return;
  const bytes = bundleBytes('climate', '2.0.0');
  await w.publish('openstarry/groups/greenhouse/deploy', { templateId: 'climate', version: '2.0.0', sha256: sha(bytes) });
  // What fleet-wiring.ts's fetch answers for such a document on such a board.
  const noService: FetchBundle = (doc) => Promise.reject(new OpenStarryError(ErrorCode.FLEET_DOCUMENT_INVALID, `${doc.templateId}@${doc.version}: the document has no url and this board has no templates.url`));
  const first = await w.board(fakeDeployer(), ['greenhouse'], noService);
  await waitFor(() => first.fleet.status().refused === 1, 'the refusal');
  await first.fleet.close();
  await first.link.close();
  const deployer = fakeDeployer();
  const second = await w.board(deployer, ['greenhouse'], async () => bytes);
  await waitFor(() => second.fleet.status().healthy === 1, 'the same document deployed once the board can fetch it');
  t.equal(second.fleet.status().ignoredDuplicate, 0, 'the refusal was not recorded as handled');
  t.equal(deployer.calls.length, 1);
});

t.test('a shutdown inside the health window: the Deployer closed first ends it interrupted; close() does not wait out the window; no outcome recorded or published', async (t) => {
  const w = await world(t);
  if (!w) return;
  // The board's real Deployer with an hour's window on a clock that never moves: only close() can end the window.
  const root = path.join(t.testdir(), 'deployments');
  const agents = new FakeAgents();
  const clock = new ManualClock();
  const { deployer } = await openDeployer({ root, agents, state: new FakeState(), templates: new FakeTemplates(), clock, log: quietLog, healthWindowMs: 3_600_000 });
  const bytes = bundleBytes('climate', '2.0.0');
  const { link, fleet } = await w.board(deployer, ['greenhouse'], async () => bytes, () => bundleOf('climate', '2.0.0'));
  const rec = await recordMessages(w.broker.url, ['openstarry/dev1/deploy/status']);
  t.teardown(() => rec.close());
  await w.publish('openstarry/groups/greenhouse/deploy', { templateId: 'climate', version: '2.0.0', sha256: sha(bytes) });
  await waitFor(() => agents.runningVersion('climate') === '2.0.0' && clock.pending > 0, 'the deployment to watch its health window');
  t.match(fleet.status(), { running: { templateId: 'climate', version: '2.0.0' } });

  // The daemon's shutdown order (runtime/daemon/daemon.ts): the Deployer, then the fleet.
  await deployer.close();
  await fleet.close();
  t.equal(clock.pending, 0, 'the window ended without the clock moving');
  t.match(fleet.status(), { healthy: 0, rolledBack: 0, refused: 0, interrupted: 1 });
  t.notOk(fleet.status().running);
  t.match((await DeployJournal.open(path.join(root, 'journal.json'))).inFlight, { templateId: 'climate', to: '2.0.0', phase: 'watching' }, 'left in flight for the next boot');
  const store = new AppliedStore(w.stateFile);
  await store.load();
  t.equal(store.get('climate'), undefined, 'not recorded as handled: the retained document is handled again at the next boot');
  await waitFor(() => link.state().queue.queued === 0, 'the statuses to reach the broker');
  await waitFor(() => rec.messages.some((m) => JSON.parse(m.payload).phase === 'staged'), 'the staged status');
  t.same(rec.messages.map((m) => JSON.parse(m.payload).phase), ['pending', 'staged'], 'no outcome published');
});
