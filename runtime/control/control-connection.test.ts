// One control connection's ending (control-connection.ts) on a real ControlServer and a real Unix socket, with a
// manual guard clock so no idle or request timeout interferes: a client that half-closes still gets every answer it
// is owed before the server ends its side (`echo '{...}' | socat - UNIX:sock`), and a client cut off for an
// oversized request is destroyed when the linger ends, whether or not it closes its side.
import net from 'node:net';
import t from 'tap';
import type { Test } from 'tap';
import { MAX_REQUEST_BYTES } from './protocol.ts';
import { agentStatus, clockedServer, LineClient, waitFor } from './test-kit.ts';

const setup = (t: Test) => clockedServer(t);

t.test('a client that half-closes after its requests gets every answer, then the server ends its side', async (t) => {
  const { api, server, open } = await setup(t);
  const client = await open();
  client.request(1, 'spawnAgent', ['slow']);
  client.request(2, 'listAgents');
  client.socket.end();
  await waitFor(() => api.slowPending, 'the slow spawn to start');
  t.match(await client.next(), { id: 2, result: [{ agentId: 'thermostat' }] }, 'the fast request answered while the slow one runs');
  t.equal(server.connectionCount, 1, 'not ended while a request is in flight');
  api.releaseSlow();
  t.match(await client.next(), { id: 1, result: { agentId: 'slow' } }, 'the slow request answered after the half-close');
  await client.ended;
  await waitFor(() => server.connectionCount === 0, 'the connection to be gone');
});

t.test('a half-closed client that reads slowly gets its whole answer before the end', async (t) => {
  const { api, server, open } = await setup(t);
  // Some 3 MB of answer: more than the socket buffers hold, so the server writes it as the client reads.
  api.agents = Array.from({ length: 3000 }, (_, i) => agentStatus({ pid: String(i + 1), reason: `${i} ${'r'.repeat(1000)}` }));
  const client = await open();
  client.socket.pause();
  client.request(1, 'listAgents');
  client.socket.end();
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.equal(server.connectionCount, 1, 'still open while the answer waits for the reader');
  client.socket.resume();
  const answer = await client.next();
  t.equal(answer.id, 1);
  t.equal((answer.result as unknown[]).length, 3000, 'every agent of the answer arrived');
  t.same((answer.result as Array<{ pid: string }>).at(-1)?.pid, '3000');
  await client.ended;
  await waitFor(() => server.connectionCount === 0, 'the connection to be gone');
});

t.test('a half-close ends the follows a client started; its pending answers still arrive', async (t) => {
  const { api, server, open } = await setup(t);
  const client = await open();
  client.request(1, 'logs.follow', ['thermostat', { lines: 0 }]);
  t.match(await client.next(), { id: 1, result: [] });
  t.equal(api.listeners.size, 1, 'following');
  client.request(2, 'spawnAgent', ['slow']);
  await waitFor(() => api.slowPending, 'the slow spawn to start');
  client.socket.end();
  await waitFor(() => api.listeners.size === 0, 'the follow to end at the half-close');
  api.releaseSlow();
  t.match(await client.next(), { id: 2, result: { agentId: 'slow' } });
  await client.ended;
  await waitFor(() => server.connectionCount === 0, 'the connection to be gone');
});

t.test('a connection cut for an oversized request reads why, and is destroyed when the linger ends on the guard clock', async (t) => {
  const { clock, server } = await setup(t);
  // allowHalfOpen: this client does not end its side when the server ends its own, as a careless or hostile one may.
  const socket = net.createConnection({ path: server.socketPath, allowHalfOpen: true });
  t.teardown(() => socket.destroy());
  await new Promise((resolve) => socket.once('connect', resolve));
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  const ended = new Promise((resolve) => socket.once('end', resolve));
  socket.write(`{"jsonrpc":"2.0","id":1,"method":"spawnAgent","params":["${'x'.repeat(MAX_REQUEST_BYTES)}"]}\n`);
  await ended;
  t.match(JSON.parse(text), { id: null, error: { message: `request exceeds ${MAX_REQUEST_BYTES} bytes`, data: { code: 'ERR_INVALID_REQUEST' } } }, 'the client read why');
  // What it sends during the linger is discarded, never answered.
  socket.write('{"jsonrpc":"2.0","id":2,"method":"listAgents"}\n');
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.equal(server.connectionCount, 1, 'half-closed: the client may still be reading');
  clock.advance(1999);
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(server.connectionCount, 1, 'not before the linger is over');
  clock.advance(1);
  t.equal(server.connectionCount, 0, 'destroyed when the linger is over');
  t.equal(text.trim().split('\n').length, 1, 'only the refusal was ever written');
});

t.test('a client cut for an oversized request that closes its side is destroyed at once, not after the linger', async (t) => {
  const { server } = await setup(t);
  const client = await LineClient.connect(server.socketPath);
  t.teardown(() => client.close());
  client.send(`${'x'.repeat(MAX_REQUEST_BYTES + 1)}\n`);
  t.match(await client.next(), { id: null, error: { data: { code: 'ERR_INVALID_REQUEST' } } });
  await client.ended;
  await waitFor(() => server.connectionCount === 0, 'the connection to be gone without the clock moving');
});
