import { once } from 'node:events';
import net from 'node:net';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import t from 'tap';
import type { Test } from 'tap';
import { ErrorCode, OpenStarryError } from '../errors.ts';
import { ManualClock } from '../manual-clock.ts';
import { ControlClient } from './control-client.ts';
import { ControlServer } from './control-server.ts';
import { refusal } from './rpc-dispatch.ts';
import { FakeDaemonApi, logLine, socketDir, waitFor } from './test-kit.ts';

t.test('a missing socket is ERR_DAEMON_UNREACHABLE', async (t) => {
  const dir = await socketDir(t);
  const socketPath = path.join(dir, 'none.sock');
  const err = await ControlClient.connect(socketPath).catch((e: unknown) => e);
  t.ok(err instanceof OpenStarryError);
  t.match(err, { code: 'ERR_DAEMON_UNREACHABLE', message: new RegExp(`^cannot reach openstarryd at ${socketPath}: ENOENT`) });
});

t.test('calls, typed errors, notifications and close', async (t) => {
  const dir = await socketDir(t);
  const api = new FakeDaemonApi();
  const server = await ControlServer.listen({ socketPath: path.join(dir, 'd.sock'), api });
  t.teardown(() => server.close());
  const client = await ControlClient.connect(server.socketPath);
  t.teardown(() => client.close());

  const agents = await client.call('listAgents');
  t.match(agents, [{ pid: '1', agentId: 'thermostat' }]);
  t.match(await client.call('spawnAgent', ['x', { isolation: 'process' }]), { pid: '42', isolation: 'process' });

  const notFound = await client.call('killAgent', ['404']).catch((e: unknown) => e);
  t.ok(notFound instanceof OpenStarryError, 'the same typed error');
  t.match(notFound, { code: 'ERR_AGENT_NOT_FOUND', message: 'no agent with pid 404' });
  await t.rejects(client.call('spawnAgent', ['missing']), { code: 'ERR_TEMPLATE_NOT_FOUND', details: { target: 'missing' } });
  await t.rejects(client.call('killAgent', ['1', 'SIGHUP']), { code: 'ERR_INVALID_PARAMS', message: /^params\.1: / });

  const seen: string[] = [];
  const off = client.onNotification('logs.line', (line) => seen.push(line.message));
  const backlog = await client.call('logs.follow', ['thermostat', { lines: 1 }]);
  t.same(backlog.map((l) => l.message), ['line 0']);
  api.emit(logLine(5));
  await client.call('listAgents'); // a round trip: the notification was sent before this answer
  t.same(seen, ['line 5']);
  off();
  api.emit(logLine(6));
  await client.call('listAgents');
  t.same(seen, ['line 5'], 'unsubscribed handlers are not called');

  await t.rejects(client.call('spawnAgent', ['x'.repeat(2 * 1024 * 1024)]), { code: 'ERR_INVALID_REQUEST' }, 'refused before sending');
  t.match(await client.call('listAgents'), [{ pid: '1' }], 'the connection survives');
});

t.test('pending calls fail with ERR_DAEMON_UNREACHABLE when the daemon goes away', async (t) => {
  const dir = await socketDir(t);
  const api = new FakeDaemonApi();
  const server = await ControlServer.listen({ socketPath: path.join(dir, 'd.sock'), api });
  t.teardown(() => server.close());
  const client = await ControlClient.connect(server.socketPath);
  t.teardown(() => client.close());

  // Attach the expectation before the server goes: the rejection may arrive while close() is awaited.
  const pending = t.rejects(client.call('spawnAgent', ['slow']), { code: 'ERR_DAEMON_UNREACHABLE' });
  await client.call('listAgents');
  await server.close();
  await pending;
  await client.closed;
  t.ok(client.isClosed);
  await t.rejects(client.call('listAgents'), { code: 'ERR_DAEMON_UNREACHABLE' });
  client.close();
});

/** A manual clock that records each wait other than the connect timeout, and whether it has fired. */
class BackoffClock extends ManualClock {
  readonly waits: { ms: number; fired: boolean }[] = [];
  constructor(readonly connectTimeoutMs: number) {
    super();
  }
  override setTimeout(fn: () => void, ms: number): unknown {
    if (ms === this.connectTimeoutMs) return super.setTimeout(fn, ms);
    const wait = { ms, fired: false };
    this.waits.push(wait);
    return super.setTimeout(() => {
      wait.fired = true;
      fn();
    }, ms);
  }
}

/**
 * A socket that refuses each connection with the line the daemon's connection guard sends at its cap
 * (control-server.ts: ERR_CONTROL_BUSY, id null) until `open` is set, then answers `status`. It ends its side
 * gracefully, so the client reads the refusal whatever it writes meanwhile.
 */
async function refusingServer(t: Test) {
  const socketPath = path.join(await socketDir(t), 'busy.sock');
  const state = { refused: 0, open: false };
  const server = net.createServer((socket) => {
    socket.on('error', () => undefined);
    if (!state.open) {
      state.refused += 1;
      socket.resume();
      socket.end(`${JSON.stringify(refusal(null, ErrorCode.CONTROL_BUSY, 'all control connections are busy; retry'))}\n`);
      return;
    }
    socket.once('data', (chunk: Buffer) => {
      const { id } = JSON.parse(chunk.toString('utf8')) as { id: number };
      socket.end(`${JSON.stringify({ jsonrpc: '2.0', id, result: { state: 'ready' } })}\n`);
    });
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { socketPath, state };
}

t.test('callOnce retries a busy daemon on its clock: 10 ms doubling to 200 ms, then gets in', async (t) => {
  const { socketPath, state } = await refusingServer(t);
  const clock = new BackoffClock(60_000);
  const call = ControlClient.callOnce(socketPath, 'status', [], { clock, timeoutMs: clock.connectTimeoutMs });
  for (const [i, expected] of [10, 20, 40, 80, 160, 200, 200].entries()) {
    await waitFor(() => clock.waits.length === i + 1, `refusal ${i + 1} and its wait`);
    const wait = clock.waits[i]!;
    t.equal(wait.ms, expected, `wait ${i + 1}: ${expected} ms`);
    clock.advance(expected - 1);
    t.notOk(wait.fired, 'not retried before the wait is over');
    clock.advance(1);
    t.ok(wait.fired, 'retried when it is over');
  }
  await waitFor(() => clock.waits.length === 8, 'the eighth refusal');
  t.equal(state.refused, 8, 'one connection per attempt');
  state.open = true;
  clock.advance(200);
  t.match(await call, { state: 'ready' }, 'in once the daemon has room');
});

t.test('callOnce gives up with ERR_CONTROL_BUSY when the next wait would pass retryForMs on its clock', async (t) => {
  const { socketPath, state } = await refusingServer(t);
  const clock = new BackoffClock(60_000);
  const call = ControlClient.callOnce(socketPath, 'status', [], { clock, timeoutMs: clock.connectTimeoutMs, retryForMs: 300 });
  const refused = t.rejects(call, { code: 'ERR_CONTROL_BUSY' });
  for (const [i, ms] of [10, 20, 40, 80].entries()) {
    await waitFor(() => clock.waits.length === i + 1, `wait ${i + 1}`);
    clock.advance(ms);
  }
  await refused;
  t.same(clock.waits.map((w) => w.ms), [10, 20, 40, 80], 'at 150 ms a 160 ms wait would pass 300 ms: no fifth wait');
  t.equal(state.refused, 5);
});

/**
 * The daemon's guard evicts an idle connection with the ERR_CONTROL_BUSY line and a destroy (control-connection.ts
 * closeBy). Under a flood a CLI can be evicted between its connect and its write: the write then fails with EPIPE
 * and Node destroys the socket before the busy line is read. Reproduced exactly: a server in a worker thread accepts,
 * writes the line and destroys the connection while this thread is held (Atomics.wait) after callOnce's connect and
 * before its write. The second connection is answered.
 */
t.test('callOnce sends again a request whose write failed (EPIPE: evicted before the request went out)', async (t) => {
  const socketPath = path.join(await socketDir(t), 'evict.sock');
  const signal = new Int32Array(new SharedArrayBuffer(8));
  const busy = `${JSON.stringify(refusal(null, ErrorCode.CONTROL_BUSY, 'evicted; retry'))}\n`;
  const server = new Worker(`
    const net = require('node:net');
    const { parentPort, workerData: { socketPath, signal, busy } } = require('node:worker_threads');
    let connections = 0;
    const server = net.createServer((socket) => {
      socket.on('error', () => undefined);
      if (++connections === 1) {
        socket.write(busy);
        socket.destroy();
        Atomics.store(signal, 0, 1);
        Atomics.notify(signal, 0);
        return;
      }
      socket.once('data', (chunk) => {
        const { id } = JSON.parse(chunk.toString('utf8'));
        socket.end(JSON.stringify({ jsonrpc: '2.0', id, result: { state: 'ready', connections } }) + '\\n');
      });
    });
    server.listen(socketPath, () => parentPort.postMessage('listening'));
    parentPort.on('message', () => server.close(() => process.exit(0)));
  `, { eval: true, workerData: { socketPath, signal, busy } });
  t.teardown(async () => {
    server.postMessage('close');
    await once(server, 'exit');
  });
  await once(server, 'message');
  // callOnce connects synchronously (a Unix socket's connect() completes at once); its 'connect' and write come
  // only when this thread gets back to its event loop, after the server has closed the connection.
  const call = ControlClient.callOnce(socketPath, 'status');
  // 'not-equal': the server was quicker than this line and had already closed it — the same state.
  Atomics.wait(signal, 0, 0, 10_000);
  t.equal(Atomics.load(signal, 0), 1, 'the server closed the first connection before the request was written');
  t.match(await call, { state: 'ready', connections: 2 }, 'the request was sent again on a second connection and answered');
});

t.test('a request whose write failed is rejected with ERR_DAEMON_UNREACHABLE naming EPIPE, and the connection is closed', async (t) => {
  const socketPath = path.join(await socketDir(t), 'gone.sock');
  let accepted: net.Socket | undefined;
  const server = net.createServer((socket) => {
    accepted = socket;
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const client = await ControlClient.connect(socketPath);
  t.teardown(() => client.close());
  await waitFor(() => accepted !== undefined, 'the server accepted');
  accepted!.destroy();
  const err = await client.call('status').then(() => undefined, (e: unknown) => e);
  t.match(err, { code: 'ERR_DAEMON_UNREACHABLE', message: /closed before the request was sent \(EPIPE\); nothing was done/, cause: { code: 'EPIPE' } });
  await client.closed;
  t.ok(client.isClosed, 'the connection is closed');
});
