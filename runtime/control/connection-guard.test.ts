// The control socket's connection guard (issue 13, finding 5) on the real server and real sockets, with a manual
// clock: idle and slow connections are closed, at the cap the longest idle one is evicted, busy connections and
// follows are never cut, follows hold at most their share, and every closure is counted. No timing assertion here:
// the attack against the built daemon is runtime/e2e/control-socket.test.ts.
import t from 'tap';
import type { Test } from 'tap';
import type { GuardOptions } from './connection-guard.ts';
import { ConnectionGuard, MAX_LINGERING_REFUSALS } from './connection-guard.ts';
import { ControlClient } from './control-client.ts';
import { agentStatus, clockedServer, LineClient, waitFor } from './test-kit.ts';

async function setup(t: Test, guard: Omit<GuardOptions, 'clock'> = {}) {
  const s = await clockedServer(t, { idleTimeoutMs: 30_000, requestTimeoutMs: 5000, ...guard });
  s.api.statusValue = { state: 'ready' } as never;
  return s;
}

const busy = { id: null, error: { data: { code: 'ERR_CONTROL_BUSY' } } };

t.test('an idle connection is closed after idleTimeoutMs, with a reason, and counted', async (t) => {
  const { clock, server, open } = await setup(t);
  const idle = await open();
  clock.advance(29_999);
  await new Promise((r) => setImmediate(r));
  t.equal(server.connectionCount, 1, 'not before the timeout');
  clock.advance(1);
  t.match(await idle.next(), { ...busy, error: { message: /idle for 30000 ms/ } });
  await idle.ended;
  t.match(server.stats(), { connections: 0, idleClosed: 1, slowClosed: 0, evicted: 0, refused: 0 });
});

t.test('a request still arriving after requestTimeoutMs is cut (slowloris); a complete one resets the idle clock', async (t) => {
  const { clock, server, open } = await setup(t);
  const active = await open();
  const slow = await open();
  await waitFor(() => server.connectionCount === 2, 'both accepted');
  slow.send('{"jsonrpc":"2.0","id":1,');
  await new Promise((r) => setTimeout(r, 100)); // lets the server read the partial line (not an assertion)
  clock.advance(20_000);
  active.request(1, 'listAgents');
  t.match(await active.next(), { id: 1, result: [agentStatus()] });
  clock.advance(10_000);
  t.match(await slow.next(), { ...busy, error: { message: /a request was still arriving after 5000 ms/ } });
  t.equal(server.stats().slowClosed, 1);
  t.notOk(active.socket.destroyed, 'the active connection is within its idle time (20 s since its request)');
  clock.advance(30_000);
  await active.ended;
  t.match(server.stats(), { idleClosed: 1, slowClosed: 1, connections: 0 });
});

t.test('a follow is never timed out; a request in flight is never cut', async (t) => {
  const { api, clock, server, open } = await setup(t);
  const follower = await open();
  follower.request(1, 'logs.follow', ['x']);
  t.match(await follower.next(), { id: 1 });
  const spawner = await open();
  spawner.request(2, 'spawnAgent', ['slow', {}]);
  await waitFor(() => api.slowPending, 'spawn in flight');
  clock.advance(10 * 60_000);
  await new Promise((r) => setImmediate(r));
  t.equal(server.connectionCount, 2, 'neither was closed');
  api.releaseSlow();
  t.match(await spawner.next(), { id: 2, result: { agentId: 'slow' } });
  clock.advance(30_000);
  await spawner.ended;
  t.equal(server.connectionCount, 1, 'the spawner, idle after its answer, timed out; the follower did not');
});

t.test('at the cap the longest idle connection is evicted so a new client gets in', async (t) => {
  const { clock, server, open } = await setup(t, { maxConnections: 3 });
  const oldest = await open();
  clock.advance(1000);
  const middle = await open();
  clock.advance(1000);
  const newest = await open();
  await waitFor(() => server.connectionCount === 3, 'three open');
  middle.request(1, 'listAgents'); // answered: its idle clock starts again, so `oldest` is the longest idle
  await middle.next();
  const status = await ControlClient.callOnce(server.socketPath, 'status');
  t.match(status, { state: 'ready' }, 'the CLI call got in');
  t.match(await oldest.next(), { ...busy, error: { message: /evicted: 3 control connections were open/ } });
  t.notOk(newest.socket.destroyed, 'the others stay');
  t.match(server.stats(), { evicted: 1, refused: 0 });
});

t.test('when every connection is busy a new one is refused with a retryable error; follows keep room for commands', async (t) => {
  const { api, server, open } = await setup(t, { maxConnections: 3, maxFollowing: 2 });
  for (const id of [1, 2]) {
    const f = await open();
    f.request(id, 'logs.follow', ['x']);
    t.match(await f.next(), { id }, `follow ${id}`);
  }
  const third = await open();
  third.request(3, 'logs.follow', ['x']);
  t.match(await third.next(), { id: 3, error: { data: { code: 'ERR_CONTROL_BUSY' }, message: /2 control connections are following already/ } }, 'a third follow is refused');
  third.request(4, 'spawnAgent', ['slow', {}]);
  await waitFor(() => api.slowPending, 'spawn in flight');
  const refused = await LineClient.connect(server.socketPath);
  t.teardown(() => refused.close());
  t.match(await refused.next(), { ...busy, error: { message: /all 3 control connections are busy/ } });
  await refused.ended;
  t.match(server.stats(), { connections: 3, refused: 1, followsRefused: 1, evicted: 0 });
  api.releaseSlow();
  t.match(await third.next(), { id: 4 });
  t.match(await ControlClient.callOnce(server.socketPath, 'status'), { state: 'ready' }, 'once the spawn is answered, the CLI gets in again');
});

t.test('a client that sends its request at once still reads the busy refusal (not a closed connection)', async (t) => {
  const { api, server, open } = await setup(t, { maxConnections: 1 });
  const holder = await open();
  holder.request(1, 'spawnAgent', ['slow', {}]);
  await waitFor(() => api.slowPending, 'spawn in flight');
  for (let i = 0; i < 5; i++) {
    const client = await ControlClient.connect(server.socketPath);
    await t.rejects(client.call('status'), { code: 'ERR_CONTROL_BUSY', message: /all 1 control connections are busy/ }, `refusal ${i + 1} read by a client whose request was already on its way`);
    client.close();
  }
  api.releaseSlow();
  t.match(await holder.next(), { id: 1 });
});

t.test('lingering refusals are capped per guard (per server), not across every server in the process', async (t) => {
  const a = new ConnectionGuard({}, () => undefined);
  const b = new ConnectionGuard({}, () => undefined);
  for (let i = 0; i < MAX_LINGERING_REFUSALS; i++) t.ok(a.startLinger());
  t.notOk(a.startLinger(), 'at the cap: closed at once');
  t.ok(b.startLinger(), "another server's guard is not full because this one is");
  a.endLinger();
  t.ok(a.startLinger(), 'room again once one has closed');
});
