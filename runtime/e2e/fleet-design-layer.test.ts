// The fleet path without `url` (README "Deploying updates"): three real daemons (dist/) in one group against one real
// mosquitto fetch each bundle from the real design-layer service (`openstarry design-layer serve --bundles DIR`,
// dist/, a process), configured as their `templates.url`; keys made by openssl, bundles packed with the real
// packBundle; the table read with the real `openstarry deploy status`.
//   1. a signed v2 published to the group without `url`: every board fetches it from the service and is healthy;
//   2. a document whose sha256 is not that of the file the service serves: refused on every board, with the reason;
//   3. the service down at push time: every board says `pending` with the reason and retries (fleet.retrying in
//      status --json), and deploys once the service is back on the same address.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import t from 'tap';
import { freePort } from '../../scripts/testing/mosquitto.ts';
import { recordMessages, waitFor } from '../../scripts/testing/mqtt-test-kit.ts';
import { requireTool } from '../../scripts/testing/system-deps.ts';
import type { DaemonStatus } from '../control/protocol.ts';
import { packBundle } from '../design/bundle.ts';
import { CLI, agentFixture, idlePlugin, startDaemon, tempDir, writeTree } from './harness.ts';
import type { RunningDaemon } from './harness.ts';
import { fleetBase, writeBoardConfig } from './fleet.test-support.ts';

const BOARDS = 3;
const GROUP = 'lab';
const run = promisify(execFile);

t.test(`${BOARDS} daemons fetch their bundles from the design-layer service: healthy, a sha256 refused, the service down then back`, { timeout: 180_000 }, async (t) => {
  if (!requireTool(t, 'mosquitto', 'mosquitto') || !requireTool(t, 'openssl', 'openssl')) return;
  const dir = tempDir(t);
  const base = await fleetBase(t, dir);
  const { broker, key } = base;

  // The design-layer service, from dist/, as a process: no templates of its own, the bundles in releases/.
  const releases = path.join(dir, 'releases');
  const serviceTemplates = path.join(dir, 'service-templates');
  mkdirSync(releases);
  mkdirSync(serviceTemplates);
  const port = await freePort();
  const serviceUrl = `http://127.0.0.1:${port}`;
  let service: ChildProcess | undefined;
  const startService = async () => {
    const child = spawn(process.execPath, [CLI, 'design-layer', 'serve', '--dir', serviceTemplates, '--bundles', releases, '--listen', `127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    service = child;
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    await waitFor(() => /design layer serving/.test(out) || child.exitCode !== null, 'the design-layer service to listen', 20_000);
    if (child.exitCode !== null) throw new Error(`design-layer serve exited ${child.exitCode}: ${out}`);
  };
  const stopService = async () => {
    const child = service;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
  t.teardown(stopService);
  await startService();

  /** Packs climate@version into releases/ (what the service serves) and returns the bundle's sha256. */
  const release = async (version: string) => {
    const src = path.join(dir, 'src', version);
    writeTree(src, agentFixture({ id: 'climate', version, plugins: ['./main.js'], restart: { policy: 'never' } }, { 'main.js': idlePlugin(`climate v${version} up`) }));
    const bytes = Buffer.from(await packBundle(src, key.privatePem));
    writeFileSync(path.join(releases, `climate-${version}.osb`), bytes);
    return createHash('sha256').update(bytes).digest('hex');
  };

  const boards: Array<{ id: string; daemon?: RunningDaemon }> = [];
  await Promise.all(Array.from({ length: BOARDS }, async (_, i) => {
    const id = `lab-${i}`;
    const board = writeBoardConfig(base, dir, id, GROUP, serviceUrl);
    const daemon = await startDaemon(t, { dir: board.dir, args: ['--config', board.config], readyTimeoutMs: 60_000 });
    await daemon.waitFor('the link to connect', async () => (await daemon.json<DaemonStatus>('status')).link.state === 'connected', 30_000);
    boards[i] = { id, daemon };
  }));

  const rec = await recordMessages(broker.url, [`openstarry/+/deploy/status`]);
  t.teardown(() => rec.close());
  const latest = (id: string) => {
    const m = rec.messages.filter((x) => x.topic === `openstarry/${id}/deploy/status`).at(-1);
    return m ? (JSON.parse(m.payload) as { version: string; phase: string; reason?: string }) : undefined;
  };
  const every = (version: string, phase: string) => boards.every((b) => latest(b.id)?.version === version && latest(b.id)?.phase === phase);
  const publisher = await mqtt.connectAsync(broker.url);
  t.teardown(() => publisher.endAsync(true));
  const push = (version: string, sha256: string) => publisher.publishAsync(`openstarry/groups/${GROUP}/deploy`, JSON.stringify({ templateId: 'climate', version, sha256 }), { qos: 1, retain: true });
  const fleetStatus = () => run(process.execPath, [CLI, 'deploy', 'status', '--broker', broker.url, '--group', GROUP]).then((r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }), (e: { code: number; stdout: string; stderr: string }) => e);

  // 1: no url: fetched from templates.url.
  await push('2.0.0', await release('2.0.0'));
  await waitFor(() => every('2.0.0', 'healthy'), `${BOARDS} boards healthy on 2.0.0`, 60_000);
  for (const b of boards) t.match((await b.daemon!.cli('logs', 'climate')).stdout, /climate v2\.0\.0 up/, `${b.id} runs climate 2.0.0`);
  let table = await fleetStatus();
  t.equal(table.code, 0, `deploy status exits 0: ${table.stderr}`);
  t.equal(table.stdout.trim().split('\n').length, BOARDS + 1, 'one row per board');
  t.match(table.stdout, /lab-0\s+climate\s+2\.0\.0\s+healthy/);

  // 2: the service serves 2.1.0, the document names another sha256.
  const served = await release('2.1.0');
  const wrong = createHash('sha256').update('not the bundle').digest('hex');
  await push('2.1.0', wrong);
  await waitFor(() => every('2.1.0', 'refused'), `${BOARDS} boards refused 2.1.0`, 60_000);
  for (const b of boards) t.match(latest(b.id)?.reason, new RegExp(`sha256 ${served}, the document names ${wrong}`), `${b.id} says why`);
  table = await fleetStatus();
  t.equal(table.code, 1, 'deploy status exits 1 when a board refused');
  t.match(table.stderr, /3 board\(s\) rolled back or refused/);

  // 3: the service down at push time; boards retry, and deploy once it is back.
  await stopService();
  await push('3.0.0', await release('3.0.0'));
  await waitFor(() => every('3.0.0', 'pending') && boards.every((b) => /next in \d+ s/.test(latest(b.id)?.reason ?? '')), `${BOARDS} boards pending with a retry`, 30_000);
  t.match(latest('lab-0')?.reason, /ECONNREFUSED|refused|fetch failed/i, 'the reason names the failure');
  const waiting = (await boards[0]!.daemon!.json<DaemonStatus>('status')).fleet as { retrying?: Array<{ templateId: string; version: string; attempts: number; nextRetryAt: string }> };
  t.match(waiting.retrying, [{ templateId: 'climate', version: '3.0.0', attempts: Number, nextRetryAt: String }], 'fleet.retrying in status --json');
  await startService();
  await waitFor(() => every('3.0.0', 'healthy'), `${BOARDS} boards healthy on 3.0.0 once the service is back`, 60_000);
  for (const b of boards) {
    const status = await b.daemon!.json<DaemonStatus>('status');
    t.match(status.fleet, { healthy: 2, refused: 1, retrying: [] }, `${b.id}: fleet counters`);
    t.ok(((status.fleet as { fetchFailures?: number }).fetchFailures ?? 0) >= 1, `${b.id} counted its failed fetches`);
  }
  table = await fleetStatus();
  t.equal(table.code, 0);
  t.match(table.stdout, /lab-2\s+climate\s+3\.0\.0\s+healthy/);
});
