// Ten real daemons (dist/) in one group against one real mosquitto (issue 16 "For a fleet, over the broker"; README
// "Deploying updates"): keys made by openssl, bundles packed and signed with the real packBundle, served over HTTP,
// documents published retained with a plain MQTT client, outcomes read from the retained status topics.
//   1. a signed v2 deployment to the group reaches every board: each reports healthy and runs v2;
//   2. a board stopped during the push applies the retained document when it starts again;
//   3. a v3 whose agent crashes at start rolls back on every board, and each says why.
import { createHash } from 'node:crypto';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import t from 'tap';
import { startFileServer } from '../../scripts/testing/file-server.ts';
import { recordMessages, waitFor } from '../../scripts/testing/mqtt-test-kit.ts';
import { requireTool } from '../../scripts/testing/system-deps.ts';
import type { DaemonStatus } from '../control/protocol.ts';
import { packBundle } from '../design/bundle.ts';
import { CLI, ROOT, agentFixture, idlePlugin, startDaemon, tempDir, writeTree } from './harness.ts';
import type { RunningDaemon } from './harness.ts';
import { fleetBase, writeBoardConfig } from './fleet.test-support.ts';

const BOARDS = 10;
// Ten daemons booting at once on 2 cores: ~45 s when the machine is quiet, over 2 minutes under a load of 15 (its
// `mark` comments say where the time went); the file's own timeout, not the suite's 120 s.
const GROUP = 'greenhouse';
const run = promisify(execFile);

const climate = (version: string, main: string) => agentFixture({ id: 'climate', version, plugins: ['./main.js'], restart: { policy: 'never' } }, { 'main.js': main });
const crashAtStart = `export default { name: 'climate', start() { throw new Error('sensor bus missing'); } };\n`;

t.test(`a signed deployment to a group of ${BOARDS} daemons over one mosquitto: applied, rolled back, caught up after a restart`, { timeout: 240_000 }, async (t) => {
  if (!requireTool(t, 'mosquitto', 'mosquitto') || !requireTool(t, 'openssl', 'openssl')) return;
  const dir = tempDir(t);
  // Templates every board starts from: the shipped master; `climate` arrives only by deployment.
  const base = await fleetBase(t, dir);
  const { broker, key } = base;

  // The bundles, packed from template folders like `openstarry deploy pack`, served over HTTP.
  const files = await startFileServer(t);
  async function document(version: string, main: string) {
    const src = path.join(dir, 'src', version);
    writeTree(src, climate(version, main));
    const bytes = Buffer.from(await packBundle(src, key.privatePem));
    return JSON.stringify({ templateId: 'climate', version, sha256: createHash('sha256').update(bytes).digest('hex'), url: files.serve(`climate-${version}.osb`, bytes) });
  }

  const boards: Array<{ id: string; dir: string; config: string; daemon?: RunningDaemon }> = [];
  for (let i = 0; i < BOARDS; i++) {
    const id = `gh-${String(i).padStart(2, '0')}`;
    boards.push({ id, ...writeBoardConfig(base, dir, id, GROUP) });
  }
  const start = async (b: (typeof boards)[number]) => {
    b.daemon = await startDaemon(t, { dir: b.dir, args: ['--config', b.config], readyTimeoutMs: 60_000 });
    await b.daemon.waitFor('the link to connect', async () => (await b.daemon!.json<DaemonStatus>('status')).link.state === 'connected', 30_000);
  };
  const began = Date.now();
  const mark = (what: string) => t.comment(`${what} after ${((Date.now() - began) / 1000).toFixed(1)} s`);
  await Promise.all(boards.map(start));
  mark(`${BOARDS} daemons connected`);

  const rec = await recordMessages(broker.url, ['openstarry/+/deploy/status']);
  t.teardown(() => rec.close());
  /** The latest status per board. */
  const latest = () => {
    const out = new Map<string, { version: string; phase: string; reason?: string }>();
    for (const m of rec.messages) out.set(m.topic.split('/')[1] as string, JSON.parse(m.payload));
    return out;
  };
  const publisher = await mqtt.connectAsync(broker.url);
  t.teardown(() => publisher.endAsync(true));
  const push = async (doc: string) => publisher.publishAsync(`openstarry/groups/${GROUP}/deploy`, doc, { qos: 1, retain: true });

  // 1 + 2: one board is stopped during the push.
  const late = boards[BOARDS - 1]!;
  late.daemon!.child.kill('SIGTERM');
  await late.daemon!.exited;
  await push(await document('2.0.0', idlePlugin('climate v2 up')));
  const on = boards.slice(0, -1);
  await waitFor(() => on.every((b) => latest().get(b.id)?.phase === 'healthy' && latest().get(b.id)?.version === '2.0.0'), `${on.length} boards healthy on 2.0.0`, 60_000);
  t.notOk(latest().has(late.id), 'the stopped board said nothing');
  mark(`${on.length} boards healthy on 2.0.0`);
  await start(late);
  await waitFor(() => latest().get(late.id)?.phase === 'healthy', 'the restarted board to apply the retained document', 30_000);
  for (const b of boards) {
    const logs = await b.daemon!.cli('logs', 'climate');
    t.match(logs.stdout, /climate v2 up/, `${b.id} runs climate 2.0.0`);
  }

  // 3: every board rolls back a v3 whose agent throws at start, and says why.
  await push(await document('3.0.0', crashAtStart));
  await waitFor(() => boards.every((b) => latest().get(b.id)?.version === '3.0.0' && latest().get(b.id)?.phase === 'rolled-back'), `${BOARDS} boards rolled back 3.0.0`, 60_000);
  mark(`${BOARDS} boards rolled back`);
  for (const b of boards) {
    t.match(latest().get(b.id)?.reason, /sensor bus missing/, `${b.id} says why: ${latest().get(b.id)?.reason}`);
    // Back on 2.0.0: the agent runs, and the board counted one deployment applied and one rolled back.
    const status = await b.daemon!.json<DaemonStatus>('status');
    t.match({ fleet: status.fleet, deploy: status.deploy }, { fleet: { healthy: 1, rolledBack: 1, groups: [GROUP] }, deploy: { applied: 1, rolledBack: 1 } }, `${b.id}: the fleet and deploy counters in status --json`);
    const ps = await b.daemon!.json<Array<{ template: string; state: string }>>('ps');
    t.ok(ps.some((a) => a.template === 'climate' && a.state === 'running'), `${b.id} runs climate again`);
  }

  // The fleet's table from the retained status topics, with the CLI as shipped: exit 1, every board rolled back.
  const table = await run(process.execPath, [CLI, 'deploy', 'status', '--broker', broker.url, '--group', GROUP], { cwd: ROOT }).catch((e: { stdout: string; code: number }) => e);
  t.equal('code' in table ? table.code : 0, 1, 'deploy status exits 1: boards rolled back');
  t.equal(table.stdout.trim().split('\n').length, BOARDS + 1, 'one row per board');
  t.match(table.stdout, /gh-00\s+climate\s+3\.0\.0\s+rolled-back/);
});
