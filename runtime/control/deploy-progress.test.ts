// A deployment's progress on the control socket (issue 16, README "Deploying updates"): `deploy.progress`
// notifications on the requesting connection while `deploy.apply` / `deploy.rollback` runs, in order and before the
// response, which still carries the whole list (an older CLI prints from there); bounded per request; a deployment in
// flight for longer than every guard timeout is neither timed out nor evicted. Real server, real sockets, a manual
// guard clock, the deployment held open by the test: nothing is timed.
import path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { ManualClock } from '../manual-clock.ts';
import { ControlServer } from './control-server.ts';
import { holdingApi, step, STEPS } from './deploy-progress.test-support.ts';
import type { DeployResult } from './protocol.ts';
import { MAX_PROGRESS_NOTIFICATIONS } from './rpc-dispatch.ts';
import { FakeDaemonApi, floodPausedFollower, LineClient, socketDir, waitFor } from './test-kit.ts';

async function serve(t: Test, api: FakeDaemonApi, clock = new ManualClock()) {
  const dir = await socketDir(t);
  const server = await ControlServer.listen({ socketPath: path.join(dir, 'd.sock'), api, guard: { clock, idleTimeoutMs: 30_000, requestTimeoutMs: 5000 } });
  t.teardown(() => server.close());
  const client = await LineClient.connect(server.socketPath);
  t.teardown(() => client.close());
  return { server, client, clock };
}

t.test('deploy.apply: each step as a notification, in order, before the response, which lists them all', async (t) => {
  const { api, held } = holdingApi(STEPS);
  const { client } = await serve(t, api);
  client.request(1, 'deploy.apply', ['/tmp/climate-2.0.0.osb', { healthWindowMs: 30_000 }]);
  for (const s of STEPS) t.same(await client.next(), { jsonrpc: '2.0', method: 'deploy.progress', params: s }, `${s.phase} arrives while the request runs`);
  t.ok(held.reported, 'the deployment is still held: no response yet');
  held.release();
  t.match(await client.next(), { id: 1, result: { outcome: { outcome: 'committed' }, progress: STEPS } });
  t.same(held.calls, ['apply /tmp/climate-2.0.0.osb']);
});

t.test('deploy.rollback sends its progress the same way', async (t) => {
  const { api, held } = holdingApi(STEPS.slice(0, 3));
  const { client } = await serve(t, api);
  client.request('r', 'deploy.rollback', ['climate']);
  for (const s of STEPS.slice(0, 3)) t.match(await client.next(), { method: 'deploy.progress', params: { phase: s.phase } });
  held.release();
  t.match(await client.next(), { id: 'r', result: { outcome: { outcome: 'committed' } } });
});

t.test(`at most ${MAX_PROGRESS_NOTIFICATIONS} notifications per request; the response still has every step`, async (t) => {
  const many = Array.from({ length: MAX_PROGRESS_NOTIFICATIONS + 10 }, () => step('watching', { windowMs: 1000 }));
  const { api, held } = holdingApi(many);
  const { client } = await serve(t, api);
  client.request(1, 'deploy.apply', ['climate@2.0.0']);
  await waitFor(() => held.reported, 'the steps reported');
  held.release();
  let notifications = 0;
  for (;;) {
    const msg = await client.next();
    if (msg.method === 'deploy.progress') notifications += 1;
    else {
      t.match(msg, { id: 1 });
      t.equal((msg.result as DeployResult).progress.length, many.length);
      break;
    }
  }
  t.equal(notifications, MAX_PROGRESS_NOTIFICATIONS);
});

t.test('a deployment in flight past every guard timeout is neither timed out nor evicted', async (t) => {
  const { api, held } = holdingApi(STEPS.slice(0, 6));
  const dir = await socketDir(t);
  const clock = new ManualClock();
  // A cap of 2: a third client makes the guard look for a connection to evict.
  const server = await ControlServer.listen({ socketPath: path.join(dir, 'd.sock'), api, guard: { clock, idleTimeoutMs: 30_000, requestTimeoutMs: 5000, maxConnections: 2 } });
  t.teardown(() => server.close());
  const deploying = await LineClient.connect(server.socketPath);
  t.teardown(() => deploying.close());
  deploying.request(1, 'deploy.apply', ['/tmp/climate-2.0.0.osb']);
  for (let i = 0; i < 6; i++) await deploying.next();
  clock.advance(10 * 60_000); // ten minutes: a long health window
  await new Promise((r) => setImmediate(r));
  t.equal(server.connectionCount, 1, 'not closed as idle or slow');
  const idle = await LineClient.connect(server.socketPath);
  t.teardown(() => idle.close());
  await waitFor(() => server.connectionCount === 2, 'the second client');
  const third = await LineClient.connect(server.socketPath);
  t.teardown(() => third.close());
  t.match(await idle.next(), { id: null, error: { data: { code: 'ERR_CONTROL_BUSY' }, message: /evicted/ } }, 'the idle one was evicted, not the deployment');
  t.notOk(deploying.socket.destroyed, 'the deploying connection is open');
  held.release();
  t.match(await deploying.next(), { id: 1, result: { outcome: { outcome: 'committed' } } });
  t.match(server.stats(), { idleClosed: 0, slowClosed: 0, evicted: 1 });
});

t.test('a response is never written ahead of notifications still queued for a slow reader', async (t) => {
  const api = new FakeDaemonApi();
  const { client } = await serve(t, api);
  const total = 3000;
  await floodPausedFollower(client, api, total);
  client.request(2, 'listAgents');
  client.socket.resume();
  let lines = 0;
  for (;;) {
    const msg = await client.next();
    if (msg.method === 'logs.line') lines += 1;
    else {
      t.match(msg, { id: 2 }, 'the response comes after every line queued before it');
      break;
    }
  }
  t.ok(lines < total, 'the reader was slow enough for lines to be queued and dropped');
  t.same(await client.next(), { jsonrpc: '2.0', method: 'logs.dropped', params: { dropped: total - lines } }, 'then the count of the dropped ones');
});
