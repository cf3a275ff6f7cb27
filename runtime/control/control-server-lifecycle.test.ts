import { existsSync, renameSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import t from 'tap';
import { ControlServer, MAX_PENDING_NOTIFICATIONS } from './control-server.ts';
import { MAX_REQUEST_BYTES, RpcCode } from './protocol.ts';
import { FakeDaemonApi, floodPausedFollower, LineClient, logLine, socketDir, waitFor } from './test-kit.ts';

/** What the helpers need from a tap test: a place to register cleanup. */
type T = { teardown(fn: () => unknown): void };

async function serve(tt: T, api = new FakeDaemonApi()): Promise<{ api: FakeDaemonApi; server: ControlServer }> {
  const dir = await socketDir(tt);
  const server = await ControlServer.listen({ socketPath: path.join(dir, 'run', 'd.sock'), api });
  tt.teardown(() => server.close());
  return { api, server };
}

async function connect(tt: T, socketPath: string): Promise<LineClient> {
  const client = await LineClient.connect(socketPath);
  tt.teardown(() => client.close());
  return client;
}

t.test('creates the parent dir and makes the socket 0660', async (t) => {
  const { server } = await serve(t);
  t.ok(statSync(server.socketPath).isSocket());
  t.equal(statSync(server.socketPath).mode & 0o777, 0o660);
});

t.test('a 3 MB line is refused and cut off; a concurrent client is unaffected', async (t) => {
  const { server } = await serve(t);
  const big = await connect(t, server.socketPath);
  const other = await connect(t, server.socketPath);
  other.request(1, 'listAgents');
  t.match(await other.next(), { id: 1, result: [] });

  const line = `{"jsonrpc":"2.0","id":1,"method":"spawnAgent","params":["${'x'.repeat(3 * 1024 * 1024)}"]}\n`;
  big.send(line);
  const msg = await big.next();
  t.same(msg, {
    jsonrpc: '2.0',
    id: null,
    error: { code: RpcCode.INVALID_REQUEST, message: `request exceeds ${MAX_REQUEST_BYTES} bytes`, data: { code: 'ERR_INVALID_REQUEST' } },
  });
  await big.ended;
  t.pass('the oversized client was disconnected');

  other.request(2, 'listAgents');
  t.match(await other.next(), { id: 2, result: [{ pid: '1' }] });
  await waitFor(() => server.connectionCount === 1, 'the cut-off connection to be dropped');
});

t.test('a line of exactly MAX_REQUEST_BYTES is still read', async (t) => {
  const { server } = await serve(t);
  const client = await connect(t, server.socketPath);
  const head = '{"jsonrpc":"2.0","id":1,"method":"listAgents","pad":"';
  const tail = '"}';
  client.send(`${head}${'y'.repeat(MAX_REQUEST_BYTES - head.length - tail.length)}${tail}\n`);
  t.match(await client.next(), { id: 1, result: [] });
});

t.test('concurrent clients each get their own answers', async (t) => {
  const { server } = await serve(t);
  const clients = await Promise.all(Array.from({ length: 20 }, () => connect(t, server.socketPath)));
  const results = await Promise.all(
    clients.map(async (c, i) => {
      for (let j = 0; j < 5; j++) c.request(`${i}-${j}`, 'killAgent', [`${i}`]);
      const ids: unknown[] = [];
      for (let j = 0; j < 5; j++) {
        const msg = await c.next();
        t.equal((msg.result as { pid: string }).pid, `${i}`);
        ids.push(msg.id);
      }
      return ids.sort();
    }),
  );
  results.forEach((ids, i) => t.same(ids, [0, 1, 2, 3, 4].map((j) => `${i}-${j}`)));
});

t.test('logs.follow sends the backlog, then lines, until the client leaves', async (t) => {
  const { api, server } = await serve(t);
  const client = await connect(t, server.socketPath);
  client.request(1, 'logs.follow', ['thermostat', { lines: 2 }]);
  const first = await client.next();
  t.match(first, { id: 1, result: [{ message: 'line 0' }, { message: 'line 1' }] });
  t.equal(api.listeners.size, 1);

  api.emit(logLine(7));
  api.emit(logLine(8, { level: 'warn', fields: { t: 21.5 } }));
  t.same(await client.next(), { jsonrpc: '2.0', method: 'logs.line', params: logLine(7) });
  t.same(await client.next(), { jsonrpc: '2.0', method: 'logs.line', params: logLine(8, { level: 'warn', fields: { t: 21.5 } }) });

  client.request(2, 'logs.follow', ['nobody']);
  t.match(await client.next(), { id: 2, error: { data: { code: 'ERR_AGENT_NOT_FOUND' } } });
  t.equal(api.listeners.size, 1, 'a failed follow subscribes nothing');

  client.close();
  await waitFor(() => api.listeners.size === 0, 'the follow to be unsubscribed');
  t.equal(server.connectionCount, 0);
});

t.test('a line that arrives before the follow is answered comes after the backlog', async (t) => {
  const api = new FakeDaemonApi();
  const follow = api.followLogs.bind(api);
  api.followLogs = (target, listener) => {
    const off = follow(target, listener);
    listener(logLine(99)); // as if the agent logged between the backlog and the response
    return off;
  };
  const { server } = await serve(t, api);
  const client = await connect(t, server.socketPath);
  client.request(1, 'logs.follow', ['thermostat', { lines: 1 }]);
  t.match(await client.next(), { id: 1, result: [{ message: 'line 0' }] });
  t.match(await client.next(), { method: 'logs.line', params: { message: 'line 99' } });
});

t.test('a client that vanishes mid-request disturbs nobody', async (t) => {
  const { api, server } = await serve(t);
  const gone = await connect(t, server.socketPath);
  gone.request(1, 'spawnAgent', ['slow']);
  await waitFor(() => api.slowPending, 'the slow spawn');
  gone.close();
  api.releaseSlow(); // its answer has nowhere to go
  await waitFor(() => server.connectionCount === 0, 'the connection to go');
  const other = await connect(t, server.socketPath);
  other.request(2, 'listAgents');
  t.match(await other.next(), { id: 2, result: [{ pid: '1' }] });
});

t.test('a slow log reader gets a bounded queue and a count of dropped lines', async (t) => {
  const { api, server } = await serve(t);
  const client = await connect(t, server.socketPath);
  const total = 5000;
  await floodPausedFollower(client, api, total);
  client.socket.resume();

  let received = 0;
  let last = -1;
  let inOrder = true;
  for (;;) {
    const msg = await client.next();
    if (msg.method === 'logs.dropped') {
      const { dropped } = msg.params as { dropped: number };
      t.ok(dropped > 0, 'some lines were dropped');
      t.ok(inOrder, 'lines stay in order');
      t.equal(received + dropped, total, 'every line is either delivered or counted as dropped');
      break;
    }
    const n = Number.parseInt((msg.params as { message: string }).message, 10);
    if (n <= last) inOrder = false;
    last = n;
    received += 1;
  }
  t.ok(received >= MAX_PENDING_NOTIFICATIONS, 'the bounded queue was delivered');
});

t.test('a stale socket file is replaced', async (t) => {
  const dir = await socketDir(t);
  const socketPath = path.join(dir, 'd.sock');
  // Leave a socket file nobody listens on, as a SIGKILLed daemon would: hide it while the listener closes.
  const old = net.createServer();
  await new Promise<void>((resolve) => old.listen(socketPath, resolve));
  renameSync(socketPath, `${socketPath}.hidden`);
  await new Promise<void>((resolve) => old.close(() => resolve()));
  renameSync(`${socketPath}.hidden`, socketPath);
  t.ok(statSync(socketPath).isSocket());

  const server = await ControlServer.listen({ socketPath, api: new FakeDaemonApi() });
  t.teardown(() => server.close());
  const client = await connect(t, socketPath);
  client.request(1, 'listAgents');
  t.match(await client.next(), { id: 1, result: [] });
});

t.test('refuses a path held by a live daemon or by a regular file', async (t) => {
  const { server } = await serve(t);
  await t.rejects(ControlServer.listen({ socketPath: server.socketPath, api: new FakeDaemonApi() }), {
    code: 'ERR_BOOT_FAILED',
    message: `another openstarryd is listening on ${server.socketPath}`,
  });
  const client = await connect(t, server.socketPath);
  client.request(1, 'listAgents');
  t.match(await client.next(), { id: 1 }, 'the first daemon still answers');

  const file = path.join(path.dirname(server.socketPath), 'not-a-socket');
  writeFileSync(file, 'precious');
  await t.rejects(ControlServer.listen({ socketPath: file, api: new FakeDaemonApi() }), { code: 'ERR_BOOT_FAILED', message: /is not a socket/ });
  t.ok(existsSync(file), 'a regular file is never removed');
});

t.test('close() drops clients and follows, removes the socket, and is idempotent', async (t) => {
  const { api, server } = await serve(t);
  const client = await connect(t, server.socketPath);
  client.request(1, 'logs.follow', ['thermostat']);
  await client.next();
  t.equal(api.listeners.size, 1);

  const a = server.close();
  const b = server.close();
  t.equal(a, b, 'the same close promise');
  await a;
  await server.close();
  await client.ended;
  t.equal(api.listeners.size, 0, 'follows unsubscribed');
  t.notOk(existsSync(server.socketPath), 'socket file removed');
  await t.rejects(LineClient.connect(server.socketPath), { code: 'ENOENT' });
});
