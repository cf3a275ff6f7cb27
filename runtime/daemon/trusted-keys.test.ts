// One rule for the trusted keys (README "Deploying updates"): both deployment paths, `openstarry deploy`
// (deploy-wiring.ts applyDeployment) and the fleet (fleet-wiring.ts startFleet), read `deploy.trustedKeys` at each
// deployment, so a key added to the folder after start is trusted at the next deployment and a key removed is not.
// Real openssl ed25519 keys, real signed bundles, a real mosquitto and link for the fleet; the deployer's ports are
// the deploy tests' fakes (runtime/deploy/deploy.test-support.ts).
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import mqtt from 'mqtt';
import t from 'tap';
import { startFileServer } from '../../scripts/testing/file-server.ts';
import { startMosquitto } from '../../scripts/testing/mosquitto.ts';
import { recordMessages, waitFor } from '../../scripts/testing/mqtt-test-kit.ts';
import { requireTool } from '../../scripts/testing/system-deps.ts';
import { systemClock } from '../clock.ts';
import { deployConfigSchema } from '../deploy/config.ts';
import { openDeployer } from '../deploy/deploy-recovery.ts';
import type { DeployOutcome, Deployer } from '../deploy/deploy-types.ts';
import { FakeAgents, FakeState, FakeTemplates, quietLog } from '../deploy/deploy.test-support.ts';
import { makeKey } from '../design/bundle-keys.test-support.ts';
import { packBundle } from '../design/bundle.ts';
import { makeLink } from '../link/link.test-support.ts';
import { applyDeployment } from './deploy-wiring.ts';
import type { DeployWiring } from './deploy-wiring.ts';
import { startFleet } from './fleet-wiring.ts';

async function bundle(dir: string, version: string, privatePem: string): Promise<Uint8Array> {
  const src = path.join(dir, 'src', version);
  mkdirSync(src, { recursive: true });
  writeFileSync(path.join(src, 'agent.json'), JSON.stringify({ id: 'climate', version, plugins: ['./main.js'], isolation: 'worker' }));
  writeFileSync(path.join(src, 'main.js'), `export default { name: 'climate', start() {} }; // ${version}\n`);
  return packBundle(src, privatePem);
}

t.test('openstarry deploy: a key added to the folder after start is trusted at the next deployment, a key removed is not', async (t) => {
  if (!requireTool(t, 'openssl', 'openssl')) return;
  const dir = t.testdir();
  const key = await makeKey(dir, 'release');
  const keys = path.join(dir, 'trusted-keys');
  mkdirSync(keys);
  const config = deployConfigSchema().parse({ trustedKeys: [keys] });
  // applyDeployment reads only the deploy config, the config's folder and the environment.
  const w = { config, configDir: dir, env: {} } as unknown as DeployWiring;
  const { deployer } = await openDeployer({ root: path.join(dir, 'deployments'), agents: new FakeAgents(), state: new FakeState(), templates: new FakeTemplates(), clock: systemClock, log: quietLog, healthWindowMs: 40, pollMs: 5 });
  const file = async (version: string) => {
    const out = path.join(dir, `climate-${version}.osb`);
    await writeFile(out, await bundle(dir, version, key.privatePem));
    return out;
  };

  const device = await applyDeployment(deployer, w, '/dev/zero', undefined);
  t.match(device.outcome, { outcome: 'refused', reason: '/dev/zero: not a regular file' }, 'a device reports size 0: refused before it is read');
  const before = await applyDeployment(deployer, w, await file('1.0.0'), undefined);
  t.match(before.outcome, { outcome: 'refused', reason: /no trusted keys \(deploy\.trustedKeys: no \*\.pem in .*trusted-keys\)/ });
  copyFileSync(key.publicFile, path.join(keys, 'release.pem'));
  const after = await applyDeployment(deployer, w, await file('1.0.0'), undefined);
  t.match(after.outcome, { outcome: 'committed', version: '1.0.0' }, 'trusted without a restart');
  rmSync(path.join(keys, 'release.pem'));
  const removed = await applyDeployment(deployer, w, await file('1.1.0'), undefined);
  t.match(removed.outcome, { outcome: 'refused', reason: /no trusted keys/ }, 'no longer trusted at once');
  writeFileSync(path.join(keys, 'broken.pem'), 'not a key\n');
  const broken = await applyDeployment(deployer, w, await file('1.1.0'), undefined);
  t.match(broken.outcome, { outcome: 'refused', reason: /broken\.pem: not a PEM public key/ }, 'a broken key file named');
});

t.test('the fleet: starts with an empty key folder, refuses with "no trusted keys", then trusts a key added after start', async (t) => {
  if (!requireTool(t, 'openssl', 'openssl') || !requireTool(t, 'mosquitto', 'mosquitto')) return;
  const dir = t.testdir();
  const broker = await startMosquitto({ dir: path.join(dir, 'broker') });
  t.teardown(() => broker.kill());
  const key = await makeKey(dir, 'release');
  const keys = path.join(dir, 'trusted-keys');
  mkdirSync(keys);
  const files = await startFileServer(t);
  const link = await makeLink(t, { url: broker.url });
  await link.start();
  const deployed: string[] = [];
  const deployer: Deployer = {
    current: () => deployed.at(-1),
    deploy: (b): Promise<DeployOutcome> => {
      deployed.push(b.version);
      return Promise.resolve({ outcome: 'committed', templateId: b.templateId, version: b.version });
    },
  };
  const fleet = await startFleet({ link, deploy: { groups: ['greenhouse'], maxBundleBytes: 1 << 20 }, trustedKeyPaths: [keys], templatesUrl: undefined, deployer: async () => deployer, home: dir, clock: systemClock, log: quietLog });
  t.teardown(() => fleet.close());
  t.notOk(fleet.status().error, 'started although no key is there yet');

  const rec = await recordMessages(broker.url, ['openstarry/dev1/deploy/status']);
  t.teardown(() => rec.close());
  const last = () => JSON.parse(rec.messages.at(-1)?.payload ?? '{}') as { version?: string; phase?: string; reason?: string };
  const publisher = await mqtt.connectAsync(broker.url);
  t.teardown(() => publisher.endAsync(true));
  const push = async (version: string) => {
    const bytes = await bundle(dir, version, key.privatePem);
    const doc = { templateId: 'climate', version, sha256: createHash('sha256').update(bytes).digest('hex'), url: files.serve(`climate-${version}.osb`, bytes) };
    await publisher.publishAsync('openstarry/groups/greenhouse/deploy', JSON.stringify(doc), { qos: 1, retain: true });
  };

  await push('2.0.0');
  await waitFor(() => last().phase === 'refused', 'the refusal');
  t.match(last(), { version: '2.0.0', reason: /no trusted keys/ });
  copyFileSync(key.publicFile, path.join(keys, 'release.pem'));
  // The same document published again: not recorded as handled, since the board's keys refused it.
  await push('2.0.0');
  await waitFor(() => last().phase === 'healthy', 'the deployment once the key is there');
  t.same(deployed, ['2.0.0']);
  rmSync(path.join(keys, 'release.pem'));
  await push('3.0.0');
  await waitFor(() => last().version === '3.0.0' && last().phase === 'refused', 'the refusal once the key is gone');
  t.match(last().reason, /no trusted keys/);
  t.same(deployed, ['2.0.0']);
});
