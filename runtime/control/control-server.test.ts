import path from 'node:path';
import t from 'tap';
import { ControlServer } from './control-server.ts';
import { RpcCode } from './protocol.ts';
import { FakeDaemonApi, LineClient, socketDir } from './test-kit.ts';

async function setup(tt: { teardown(fn: () => unknown): void }): Promise<{ api: FakeDaemonApi; server: ControlServer; client: LineClient }> {
  const dir = await socketDir(tt);
  const api = new FakeDaemonApi();
  const server = await ControlServer.listen({ socketPath: path.join(dir, 'd.sock'), api });
  tt.teardown(() => server.close());
  const client = await LineClient.connect(server.socketPath);
  tt.teardown(() => client.close());
  return { api, server, client };
}

function errorOf(msg: Record<string, unknown>): { code: number; message: string; data: { code: string; details?: unknown } } {
  return msg.error as { code: number; message: string; data: { code: string; details?: unknown } };
}

t.test('envelope errors', async (t) => {
  const { client } = await setup(t);

  client.send('{not json\n');
  let msg = await client.next();
  t.equal(msg.id, null);
  t.equal(errorOf(msg).code, RpcCode.PARSE_ERROR);
  t.equal(errorOf(msg).data.code, 'ERR_INVALID_REQUEST');

  client.send('[{"jsonrpc":"2.0","id":1,"method":"status"}]\n');
  msg = await client.next();
  t.match(errorOf(msg), { code: RpcCode.INVALID_REQUEST, message: 'batch requests are not supported', data: { code: 'ERR_INVALID_REQUEST' } });

  client.send('42\n');
  msg = await client.next();
  t.match(msg, { id: null, error: { code: RpcCode.INVALID_REQUEST } });

  client.send('{"id":7,"method":"status"}\n');
  msg = await client.next();
  t.match(msg, { id: 7, error: { code: RpcCode.INVALID_REQUEST, data: { code: 'ERR_INVALID_REQUEST' } } }, 'missing jsonrpc keeps the id');

  client.send('{"jsonrpc":"2.0","id":{"x":1},"method":"status"}\n');
  msg = await client.next();
  t.match(msg, { id: null, error: { code: RpcCode.INVALID_REQUEST } }, 'an object id is invalid');

  client.send('{"jsonrpc":"2.0","id":8}\n');
  msg = await client.next();
  t.match(msg, { id: 8, error: { code: RpcCode.INVALID_REQUEST } }, 'no method');

  client.send('\r\n   \n');
  client.request('after-blank', 'listAgents');
  msg = await client.next();
  t.equal(msg.id, 'after-blank', 'blank lines are ignored, not answered');
});

t.test('method and params errors', async (t) => {
  const { client } = await setup(t);

  client.request(1, 'nope');
  let msg = await client.next();
  t.match(msg, { id: 1, error: { code: RpcCode.METHOD_NOT_FOUND, message: 'method not found: nope', data: { code: 'ERR_METHOD_NOT_FOUND' } } });

  client.request(2, 'toString');
  msg = await client.next();
  t.match(msg, { id: 2, error: { code: RpcCode.METHOD_NOT_FOUND } }, 'prototype members are not methods');

  client.request(3, 'killAgent', ['1', 'SIGHUP']);
  msg = await client.next();
  t.equal(errorOf(msg).code, RpcCode.INVALID_PARAMS);
  t.match(errorOf(msg).message, /^params\.1: Invalid option/);
  t.match(errorOf(msg).data, { code: 'ERR_INVALID_PARAMS', details: { problems: [{ path: 'params.1' }] } });

  client.request(4, 'spawnAgent');
  msg = await client.next();
  t.match(msg, { id: 4, error: { code: RpcCode.INVALID_PARAMS, message: /^params\.0: / } }, 'missing params = []');

  client.request(5, 'spawnAgent', ['x', { isolation: 'vm' }]);
  msg = await client.next();
  t.match(msg, { error: { message: /^params\.1\.isolation: / } });

  client.request(6, 'status', 'nope');
  msg = await client.next();
  t.match(msg, { id: 6, error: { code: RpcCode.INVALID_PARAMS, message: 'params: must be an array or an object' } });

  client.request(7, 'listAgents', [1]);
  msg = await client.next();
  t.match(msg, { id: 7, error: { code: RpcCode.INVALID_PARAMS, message: /^params: / } }, 'too many params');
});

t.test('api errors', async (t) => {
  const { client } = await setup(t);

  client.request(1, 'spawnAgent', ['missing']);
  let msg = await client.next();
  t.same(msg.error, { code: RpcCode.APPLICATION_ERROR, message: 'no template "missing"', data: { code: 'ERR_TEMPLATE_NOT_FOUND', details: { target: 'missing' } } });

  client.request(2, 'spawnAgent', ['boom']);
  msg = await client.next();
  t.match(msg, { id: 2, error: { code: RpcCode.INTERNAL_ERROR, message: /kaput/, data: { code: 'ERR_INTERNAL' } } });

  client.request(3, 'status');
  msg = await client.next();
  t.match(msg, { id: 3, error: { code: RpcCode.APPLICATION_ERROR, data: { code: 'ERR_NOT_READY' } } });
});

t.test('results, ids, notifications and by-name params', async (t) => {
  const { client } = await setup(t);

  client.send('{"jsonrpc":"2.0","method":"nope"}\n');
  client.send('{"jsonrpc":"2.0","method":"spawnAgent","params":["boom"]}\n');
  client.request('s-1', 'listAgents');
  let msg = await client.next();
  t.equal(msg.id, 's-1', 'notifications, even failing ones, get no response');
  t.match(msg.result, [{ pid: '1', agentId: 'thermostat' }]);

  client.request(null, 'listAgents', []);
  msg = await client.next();
  t.match(msg, { jsonrpc: '2.0', id: null, result: [{ pid: '1' }] });

  client.request(1, 'killAgent', { pid: '7', signal: 'SIGKILL' });
  msg = await client.next();
  t.match(msg, { id: 1, result: { pid: '7', state: 'exited', reason: 'SIGKILL' } });

  client.request(2, 'killAgent', { pid: '7' });
  msg = await client.next();
  t.match(msg, { id: 2, result: { reason: 'SIGTERM' } }, 'signal defaults to SIGTERM');

  client.request(3, 'killAgent', { pid: '7', signal: 'SIGHUP' });
  msg = await client.next();
  t.match(msg, { id: 3, error: { code: RpcCode.INVALID_PARAMS, message: /^params\.signal: / } }, 'by-name errors use the names');

  client.request(4, 'killAgent', { pid: '7', sig: 'SIGKILL' });
  msg = await client.next();
  t.match(msg, { id: 4, error: { code: RpcCode.INVALID_PARAMS, message: /^params\.sig: unknown param/ } });

  client.request(5, 'spawnAgent', { target: 'x', options: { isolation: 'process' } });
  msg = await client.next();
  t.match(msg, { id: 5, result: { pid: '42', agentId: 'x', isolation: 'process' } });

  client.request(6, 'logs.read', { target: 'thermostat', options: { lines: 2 } });
  msg = await client.next();
  t.match(msg, { id: 6, result: [{ message: 'line 0' }, { message: 'line 1' }] });
});

t.test('responses do not wait for slow requests', async (t) => {
  const { api, client } = await setup(t);
  client.request(1, 'spawnAgent', ['slow']);
  client.request(2, 'listAgents');
  const first = await client.next();
  t.equal(first.id, 2, 'a fast request is answered while a slow one runs');
  api.releaseSlow();
  const second = await client.next();
  t.match(second, { id: 1, result: { agentId: 'slow' } });
});
