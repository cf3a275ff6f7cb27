import path from 'node:path';
import t from 'tap';
import { OpenStarryError } from '../errors.ts';
import { ControlClient } from './control-client.ts';
import { ControlServer } from './control-server.ts';
import { FakeDaemonApi, logLine, socketDir } from './test-kit.ts';

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
