// End to end: garbage on the control socket gets JSON-RPC errors or a closed connection, never a crash, and other
// clients keep being served; what held in issue 13's red-team pass (prototype-named methods, 100k-deep nesting, a
// 20 MB line) stays held; CLI exit codes for usage errors and an unreachable daemon.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import t from 'tap';
import type { IAgentStatus } from '../control/protocol.ts';
import { runCli, startDaemon, tempDir } from './harness.ts';

function talk(socket: string, payload: string | Buffer): Promise<{ lines: unknown[]; closed: boolean }> {
  return new Promise((resolve) => {
    const c = net.createConnection(socket);
    let buf = '';
    let closed = false;
    c.on('data', (d) => (buf += d.toString()));
    c.on('error', () => undefined);
    c.on('close', () => {
      closed = true;
      done();
    });
    const timer = setTimeout(() => {
      c.destroy();
    }, 1500);
    const done = () => {
      clearTimeout(timer);
      resolve({ lines: buf.split('\n').filter(Boolean).map((l) => JSON.parse(l) as unknown), closed });
    };
    c.on('connect', () => {
      c.write(payload);
      setTimeout(() => c.end(), 300);
    });
  });
}

t.test('garbage on the socket: errors, closed connections, and the daemon keeps serving', async (t) => {
  const d = await startDaemon(t);
  const bystander = net.createConnection(d.socket);
  await new Promise((r) => bystander.once('connect', r));
  t.teardown(() => void bystander.destroy());

  const notJson = await talk(d.socket, 'hello there\n');
  t.match(notJson.lines, [{ jsonrpc: '2.0', id: null, error: { code: -32700 } }]);

  const unknown = await talk(d.socket, '{"jsonrpc":"2.0","id":1,"method":"rm -rf","params":[]}\n');
  t.match(unknown.lines, [{ id: 1, error: { code: -32601, data: { code: 'ERR_METHOD_NOT_FOUND' } } }]);

  const wrong = await talk(d.socket, '{"jsonrpc":"2.0","id":2,"method":"killAgent","params":[42,"SIGHUP"]}\n');
  t.match(wrong.lines, [{ id: 2, error: { code: -32602, data: { code: 'ERR_INVALID_PARAMS' } } }]);

  const huge = await talk(d.socket, Buffer.alloc(3 * 1024 * 1024, 0x61));
  t.match(huge.lines, [{ id: null, error: { code: -32600 } }]);
  t.ok(huge.closed, 'the 3 MB line closes the connection');

  const binary = await talk(d.socket, Buffer.from([0xff, 0xfe, 0x00, 0x0a]));
  t.match(binary.lines, [{ error: { code: -32700 } }]);

  const reply = new Promise<string>((resolve) => bystander.once('data', (c) => resolve(c.toString())));
  bystander.write('{"jsonrpc":"2.0","id":"b","method":"listAgents"}\n');
  t.match(JSON.parse(await reply), { id: 'b', result: [{ agentId: 'master' }] }, 'a client connected all along is still served');
  t.match(await d.json<IAgentStatus[]>('ps'), [{ agentId: 'master', state: 'running' }], 'the CLI still works');
  t.equal(d.child.exitCode, null, 'daemon alive');
});

function rssMb(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The daemon's RSS once its boot's garbage is gone: at least `sinceMs` after `startedAt` (V8's memory reducer, under
 * the daemon's --optimize-for-size, compacts 8 s after the boot's last full collection; runtime/daemon/node-flags.ts)
 * and then steady, four readings 500 ms apart within 1 MB. Gives up waiting after 30 s and returns the last reading.
 */
async function settledRssMb(pid: number, startedAt: number, sinceMs = 12_000): Promise<number> {
  const readings: number[] = [];
  const giveUp = Date.now() + 30_000;
  for (;;) {
    readings.push(rssMb(pid));
    const last = readings.slice(-4);
    if ((Date.now() - startedAt >= sinceMs && last.length === 4 && Math.max(...last) - Math.min(...last) < 1) || Date.now() > giveUp) return readings.at(-1) as number;
    await pause(500);
  }
}

t.test('what held in issue 13: __proto__ methods, 100k-deep nesting and a 20 MB line are refused, the daemon is fine', async (t) => {
  const d = await startDaemon(t);
  const startedAt = Date.now();
  const pid = d.child.pid as number;
  // Names every object inherits: none may reach a handler or the prototype chain (JSON-RPC 2.0 §5.1: -32601).
  for (const method of ['__proto__', 'constructor', 'hasOwnProperty', 'toString', '__defineGetter__', 'listAgents.__proto__']) {
    const r = await talk(d.socket, `${JSON.stringify({ jsonrpc: '2.0', id: method, method, params: [] })}\n`);
    t.match(r.lines, [{ id: method, error: { code: -32601, data: { code: 'ERR_METHOD_NOT_FOUND' } } }], `method ${method} refused`);
  }
  const polluting = await talk(d.socket, '{"jsonrpc":"2.0","id":"p","method":"killAgent","params":{"__proto__":{"pid":"1"},"constructor":{"prototype":{"x":1}}}}\n');
  t.match(polluting.lines, [{ id: 'p', error: { code: -32602 } }], '__proto__ in params is not a pid');

  // 100,000 levels of nesting, as params and as the whole request: an error, never a stack overflow.
  const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
  const deepParams = await talk(d.socket, `{"jsonrpc":"2.0","id":"deep","method":"events.emit","params":["door/x",${deep}]}\n`);
  t.match(deepParams.lines, [{ id: 'deep', error: { code: -32602, data: { code: 'ERR_INVALID_PARAMS' } } }], `100k-deep params refused: ${JSON.stringify(deepParams.lines).slice(0, 300)}`);
  const deepObject = await talk(d.socket, `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}\n`);
  t.match(deepObject.lines, [{ id: null, error: { code: -32600 } }], `100k-deep object refused: ${JSON.stringify(deepObject.lines).slice(0, 300)}`);

  // A 20 MB line, streamed: refused at the request cap (1 MiB) and the connection closed; not buffered whole.
  const rssBefore = await settledRssMb(pid, startedAt);
  const huge = await talk(d.socket, Buffer.concat([Buffer.from('{"jsonrpc":"2.0","id":"h","method":"events.emit","params":["x","'), Buffer.alloc(20 * 1024 * 1024, 0x61), Buffer.from('"]}\n')]));
  t.match(huge.lines, [{ id: null, error: { code: -32600, data: { code: 'ERR_INVALID_REQUEST' } } }]);
  t.ok(huge.closed, 'the 20 MB line closes the connection');

  t.equal(d.child.exitCode, null, 'daemon alive');
  t.match(await d.json<IAgentStatus[]>('ps'), [{ agentId: 'master', state: 'running' }], 'the CLI still works');
  t.notMatch(d.log(), /Maximum call stack|dispatch failed/, 'no request reached an untyped failure');
  // Past the cap the connection reads at most 256 KiB more, then stops reading until the linger destroys it
  // (control-connection.ts OVERSIZE_DISCARD_BYTES). Before, it read and discarded all 20 MB, and with the main
  // thread's young generation at V8's default size (its cap is a start-up option the daemon does not take,
  // node-flags.ts) the read buffers lifted RSS for seconds to tens of seconds (CI: 89.7 -> 108.4 MB once, and
  // 88.9 -> 100.4 MB still 40 s later on 2026-12-06). What must not happen is that it stays up: a kept 20 MB line
  // would. So RSS must come back within 10 MB of before, in up to 40 s.
  const giveUp = Date.now() + 40_000;
  let after = rssMb(pid);
  while (after - rssBefore >= 10 && Date.now() < giveUp) {
    await pause(500);
    after = rssMb(pid);
  }
  t.ok(after - rssBefore < 10, `daemon RSS ${rssBefore.toFixed(1)} -> ${after.toFixed(1)} MB: the 20 MB line was not kept`);
});

t.test('CLI exit codes: 3 when no daemon answers, 2 for usage errors', async (t) => {
  const socket = path.join(tempDir(t), 'nobody.sock');
  const none = await runCli(socket, ['ps']);
  t.equal(none.code, 3);
  t.match(none.stderr, /cannot reach openstarryd/);
  t.equal((await runCli(socket, ['frobnicate'])).code, 2);
  t.equal((await runCli(socket, ['kill'])).code, 2);
  t.equal((await runCli(socket, ['kill', '1', '--signal', 'SIGHUP'])).code, 2);
});
