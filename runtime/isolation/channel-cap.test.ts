// The channel cap (message-cap.ts) at the daemon's own walls, against isolates that do not play by the host's
// rules: a child process whose entry writes a 200 MB frame straight to fd 3, and a worker whose entry posts a
// 200 MB message straight to parentPort (what agent code that escaped the sandbox could do). Both are stopped
// as message-too-large. The process channel refuses from the frame's prefix, so this process's peak RSS does not
// move; a worker's message arrives deserialised (structured clone), so the daemon holds it once before refusing:
// that figure is printed, not asserted. Then the pieces: the measure, the host's capped port, output lines.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import t from 'tap';
import type { Test } from 'tap';
import type { ChannelMessage, IChannelPort } from '../core/channel-messages.ts';
import { loadBlueprint } from '../design/blueprint.ts';
import { cappedPort } from './host/capped-port.ts';
import type { IIsolationDriver } from './isolation-driver.ts';
import { LineSplitter } from './line-splitter.ts';
import { DEFAULT_MAX_MESSAGE_BYTES, TOO_LARGE_NOTE, messageSizeOver } from './message-cap.ts';
import { ProcessDriver } from './process/process-driver.ts';
import { WorkerDriver } from './worker/worker-driver.ts';

const MB = 1024 * 1024;
const peakRss = () => Number(/^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]) * 1024;

const HOSTILE_CHILD = `
import { Socket } from 'node:net';
const socket = new Socket({ fd: 3, readable: true, writable: true });
const prefix = Buffer.alloc(8);
prefix.writeUInt32BE(16, 0);
prefix.writeUInt32BE(200 * 1024 * 1024, 4);
socket.write(prefix);
const chunk = Buffer.alloc(1024 * 1024, 0x78);
let sent = 0;
const more = () => { while (sent < 200) { sent += 1; if (!socket.write(chunk)) return void socket.once('drain', more); } };
more();
socket.on('error', () => {});
setInterval(() => {}, 1000);
`;

const HOSTILE_WORKER = `
import { parentPort } from 'node:worker_threads';
const mb = 'x'.repeat(1024 * 1024);
parentPort.postMessage({ t: 'note', method: 'log', params: { level: 'info', message: 'hi', fields: { huge: new Array(200).fill(mb) } } });
setInterval(() => {}, 1000);
`;

/** One fixture folder per test (t.testdir replaces it): the hostile entry beside a plain agent. */
function fixture(t: Test, entry: string): string {
  return t.testdir({ 'hostile.mjs': entry, 'agent.json': JSON.stringify({ id: 'hostile', version: '1.0.0', plugins: ['./main.js'] }), 'main.js': 'export default {}' });
}

async function startHostile(t: Test, driver: IIsolationDriver, dir: string) {
  const blueprint = await loadBlueprint(`${dir}/agent.json`);
  const isolate = await driver.start({ pid: 'h1', blueprint, env: { OPENSTARRY_AGENT_ID: 'hostile', OPENSTARRY_HOME: '/tmp/openstarry-hostile' } });
  t.teardown(() => isolate.terminate());
  return isolate;
}

t.test('process: a 200 MB frame written straight to fd 3 is refused from its prefix; the child is killed', async (t) => {
  const dir = fixture(t, HOSTILE_CHILD);
  const driver = new ProcessDriver({ entry: `${dir}/hostile.mjs` });
  t.teardown(() => driver.close());
  const before = peakRss();
  const isolate = await startHostile(t, driver, dir);
  const exit = await isolate.exited;
  t.match(exit, { cause: 'message-too-large', error: { code: 'ERR_MESSAGE_TOO_LARGE', message: `message-too-large: ${16 + 200 * MB} bytes > ${DEFAULT_MAX_MESSAGE_BYTES}` } });
  const growth = peakRss() - before;
  t.ok(growth < 60 * MB, `this process's peak RSS +${Math.round(growth / MB)} MB`);
});

t.test('worker: a 200 MB message posted straight to parentPort is refused on receipt; the worker is ended', async (t) => {
  const dir = fixture(t, HOSTILE_WORKER);
  const driver = new WorkerDriver({ entry: pathToFileURL(`${dir}/hostile.mjs`) });
  t.teardown(() => driver.close());
  const before = peakRss();
  const isolate = await startHostile(t, driver, dir);
  let logged = false;
  isolate.channel.onNote('log', () => (logged = true));
  const exit = await isolate.exited;
  t.match(exit, { cause: 'message-too-large', error: { code: 'ERR_MESSAGE_TOO_LARGE', message: /^message-too-large: \d+ bytes > 1048576$/ } });
  t.notOk(logged, 'the message was not delivered');
  t.comment(`worker receipt: this process's peak RSS +${Math.round((peakRss() - before) / MB)} MB (a structured clone is deserialised before it can be measured)`);
});

t.test('messageSizeOver: stops at the cap, handles cycles and deep nesting', async (t) => {
  const mb = 'x'.repeat(MB);
  t.equal(messageSizeOver({ a: 'small', n: [1, 2, 3] }, 1024), undefined);
  const over = messageSizeOver(new Array(200).fill(mb), MB);
  t.ok(over !== undefined && over > MB && over < 3 * MB, `stopped early: ${over}`);
  t.equal(messageSizeOver(new Uint8Array(2 * MB), MB), 2 * MB, 'buffers by their bytes');
  const cyclic: Record<string, unknown> = { s: 'x' };
  cyclic.self = cyclic;
  t.equal(messageSizeOver(cyclic, 1024), undefined, 'a cycle is walked once');
  let deep: unknown = 'leaf';
  for (let i = 0; i < 100_000; i++) deep = [deep];
  t.equal(messageSizeOver(deep, MB), undefined, '100k deep: no stack overflow');
  t.ok(messageSizeOver(new Map([[mb, mb]]), MB) !== undefined, 'Map entries count');
  t.ok(messageSizeOver(new Array(10_000_000).fill(0), MB) !== undefined, 'a huge array of scalars is cut off');
});

t.test('cappedPort: an oversized post is not sent; the small note is, the isolate exits, the caller gets an error', async (t) => {
  const posted: ChannelMessage[] = [];
  const exits: number[] = [];
  const inner: IChannelPort = { post: (m) => posted.push(m), onMessage: () => undefined, close: () => undefined };
  const port = cappedPort(inner, 1024, (code) => exits.push(code));
  port.post({ t: 'note', method: 'log', params: { message: 'fine' } });
  t.throws(() => port.post({ t: 'note', method: 'log', params: { message: 'x'.repeat(4096) } }), { code: 'ERR_MESSAGE_TOO_LARGE', message: /^message-too-large: \d+ bytes > 1024$/ });
  port.post({ t: 'note', method: 'log', params: { message: 'after' } });
  t.same(posted.map((m) => (m.t === 'note' ? m.method : m.t)), ['log', TOO_LARGE_NOTE], 'nothing after the refusal');
  t.same(exits, [1]);
});

t.test('output lines over 8 KiB are cut with a marker, not split', async (t) => {
  const lines: string[] = [];
  const s = new LineSplitter((l) => lines.push(l));
  s.push('short\n');
  for (let i = 0; i < 100; i++) s.push('y'.repeat(1000));
  s.push('\nnext\r\n');
  s.push('tail');
  s.end();
  t.same(lines, ['short', `${'y'.repeat(8192)}… [cut ${100_000 - 8192} chars]`, 'next', 'tail']);
});
