// The channel port over a real Unix socket: messages posted before the peer connects are delivered in order,
// a request/response with binary payloads crosses through two ChannelEndpoints, garbage closes the connection.
import { connect, createServer } from 'node:net';
import type { Socket } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { ChannelEndpoint, WithTransfer } from '../../core/channel-endpoint.ts';
import { SocketPort } from './socket-port.ts';

async function pair(t: Test): Promise<{ server: Promise<Socket>; client: () => Socket }> {
  // Not t.testdir(): a Unix socket path must stay under 108 bytes.
  const dir = await mkdtemp(path.join(os.tmpdir(), 'os-sp-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const sock = path.join(dir, 's.sock');
  const srv = createServer();
  const server = new Promise<Socket>((resolve) => srv.once('connection', resolve));
  await new Promise<void>((r) => srv.listen(sock, r));
  t.teardown(() => srv.close());
  return { server, client: () => connect(sock) };
}

t.test('posts before attach wait in order; requests with buffers cross both ways', async (t) => {
  const { server, client } = await pair(t);
  const daemonPort = new SocketPort();
  const daemon = new ChannelEndpoint(daemonPort);
  daemon.handle('hal.camera.next', () => {
    const jpeg = new Uint8Array([0xff, 0xd8, 0xff]).buffer;
    return new WithTransfer({ seq: 1, jpeg }, [jpeg]);
  });
  daemonPort.post({ t: 'note', method: 'first' });
  const asked = daemon.request('agent.snapshot');

  const isolatePort = new SocketPort();
  const socket = client();
  socket.once('connect', () => isolatePort.attach(socket));
  const isolate = new ChannelEndpoint(isolatePort);
  const order: string[] = [];
  isolate.onNote('first', () => order.push('first'));
  isolate.handle('agent.snapshot', () => {
    order.push('snapshot');
    return { k: 1 };
  });
  const accepted = await server;
  daemonPort.attach(accepted);
  t.same(await asked, { k: 1 });
  t.same(order, ['first', 'snapshot']);
  const frame = (await isolate.request('hal.camera.next', { streamId: 1 })) as { seq: number; jpeg: ArrayBuffer };
  t.ok(frame.jpeg instanceof ArrayBuffer);
  t.same([...new Uint8Array(frame.jpeg)], [0xff, 0xd8, 0xff]);
  isolate.close();
  t.equal(await daemonPort.closed, 'socket closed');
  t.equal(daemonPort.attached, true);
});

t.test('garbage from the peer closes the connection with a framing error', async (t) => {
  const { server, client } = await pair(t);
  const socket = client();
  const port = new SocketPort({ maxFrameBytes: 1024 });
  const received: unknown[] = [];
  port.onMessage((m) => received.push(m));
  port.attach(await server);
  const peerClosed = new Promise<void>((r) => socket.once('close', () => r()));
  socket.write(Buffer.from([0, 0, 0, 5, 0, 0, 0, 0, 0x68, 0x65, 0x6c, 0x6c, 0x6f]));
  t.match(await port.closed, /framing error: frame header is not JSON/);
  await peerClosed;
  t.same(received, []);
});

t.test('a frame over the cap closes the connection before it is buffered', async (t) => {
  const { server, client } = await pair(t);
  const socket = client();
  const port = new SocketPort({ maxFrameBytes: 1024 });
  port.attach(await server);
  const prefix = Buffer.alloc(8);
  prefix.writeUInt32BE(10, 0);
  prefix.writeUInt32BE(100 * 1024 * 1024, 4);
  socket.write(prefix);
  t.match(await port.closed, /over the 1024-byte limit/);
  t.equal(port.tooLarge, 10 + 100 * 1024 * 1024, 'the announced size, for the message-too-large reason');
  socket.destroy();
});

t.test('a port closed before the peer connects drops its queue and refuses the late socket', async (t) => {
  const { server, client } = await pair(t);
  const port = new SocketPort();
  port.post({ t: 'note', method: 'x' });
  port.close();
  t.equal(await port.closed, 'port closed');
  const socket = client();
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  port.attach(await server);
  await closed;
  t.pass('the late connection was closed');
});
