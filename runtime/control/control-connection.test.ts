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

t.test('a client that keeps streaming after its oversized request is no longer read; the linger still ends it', async (t) => {
  const { clock, server } = await setup(t);
  const socket = net.createConnection({ path: server.socketPath, allowHalfOpen: true });
  t.teardown(() => socket.destroy());
  socket.on('error', () => undefined); // ECONNRESET when the server destroys it with unread data
  await new Promise((resolve) => socket.once('connect', resolve));
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  const streamed = 20 * 1024 * 1024;
  // Written as a careful sender does, 64 KiB at a time and on 'drain': it gets only as far as the server reads.
  let sent = 0;
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  const pump = () => {
    while (sent < streamed) {
      sent += chunk.length;
      if (!socket.write(chunk)) {
        socket.once('drain', pump);
        return;
      }
    }
  };
  socket.write('{"jsonrpc":"2.0","id":1,"method":"events.emit","params":["x","');
  pump();
  await waitFor(() => text.includes('\n'), 'the refusal');
  t.match(JSON.parse(text), { id: null, error: { data: { code: 'ERR_INVALID_REQUEST' } } });
  // The server stops reading 256 KiB past the cap, so the sender stalls (the kernel holds a few hundred KiB more).
  // Before, the server read and discarded everything: all 20 MB went through within a fraction of a second.
  let last = -1;
  while (sent !== last) {
    last = sent;
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  t.ok(sent < MAX_REQUEST_BYTES + 8 * 1024 * 1024, `the sender stalled after ${sent} of ${streamed} bytes`);
  t.equal(server.connectionCount, 1, 'lingering');
  clock.advance(2000);
  t.equal(server.connectionCount, 0, 'destroyed when the linger is over');
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
