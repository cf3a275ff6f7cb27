// Property tests of the control plane's boundary (issue 13 "Fuzz the boundaries"): the newline framer and the
// JSON-RPC dispatcher with the protocol's param schemas. Every generated request line gets exactly one JSON-RPC
// answer (or none for a notification) whose error carries a registered `data.code`; nothing throws, nothing
// reaches a prototype. Seeded: scripts/testing/fuzz-kit.ts.
import t from 'tap';
import { ErrorCode } from '../errors.ts';
import { assertPrototypesUntouched, checkAsyncProperty, checkProperty, fc, jsonText, mutatedDocument, nastyValue, prototypeFingerprint, validControlRequest } from '../../scripts/testing/fuzz-kit.ts';
import { LineFramer } from './json-lines.ts';
import { methodParamNames, RpcCode } from './protocol.ts';
import type { MethodName } from './protocol.ts';
import { RpcDispatcher } from './rpc-dispatch.ts';
import type { RpcResponse } from './rpc-dispatch.ts';
import { FakeDaemonApi } from './test-kit.ts';

const before = prototypeFingerprint();
const CODES = new Set<string>(Object.values(ErrorCode));
const METHODS = Object.keys(methodParamNames) as MethodName[];

const validRequest = validControlRequest(METHODS);

const requestLine = fc.oneof(
  { weight: 6, arbitrary: jsonText(mutatedDocument(validRequest)) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
  { weight: 1, arbitrary: fc.constantFrom('{"jsonrpc":"2.0","id":1,"method":"__proto__"}', '{"jsonrpc":"2.0","id":1,"method":"constructor","params":{"__proto__":{"polluted":1}}}', '[]', 'null', '1e999', '{"jsonrpc":"2.0","id":1e999,"method":"status"}', '{"jsonrpc":"2.0","id":1,"method":"status","params":{"__proto__":[]}}') },
);

function checkResponse(line: string, response: RpcResponse | undefined): void {
  if (response === undefined) {
    // Only a notification (a request object without an id) goes unanswered.
    const parsed = JSON.parse(line) as Record<string, unknown>;
    if (Object.hasOwn(parsed, 'id')) throw new Error('a request with an id got no answer');
    return;
  }
  if (response.jsonrpc !== '2.0') throw new Error('answer without jsonrpc 2.0');
  // The answer must go back on the wire as one line.
  JSON.parse(JSON.stringify(response));
  if ('error' in response) {
    if (!CODES.has(response.error.data.code)) throw new Error(`unregistered error code ${response.error.data.code}`);
    if (response.error.code === RpcCode.INTERNAL_ERROR) throw new Error(`internal error for a bad request: ${response.error.message}`);
    if (typeof response.error.message !== 'string' || response.error.message === '') throw new Error('error without a message');
  }
}

t.test('every request line gets a typed JSON-RPC answer; nothing throws, no prototype is touched', async (t) => {
  const api = new FakeDaemonApi();
  const internal: string[] = [];
  const dispatcher = new RpcDispatcher(api, (level, msg) => {
    if (level === 'error') internal.push(msg);
  });
  const scope = { followLogs: () => undefined };
  await checkAsyncProperty(t, 'dispatch', requestLine, 3000, async (line) => {
    let response: RpcResponse | undefined;
    try {
      response = await dispatcher.dispatch(line, scope);
    } catch (err) {
      throw new Error(`dispatch threw: ${(err as Error).name}: ${(err as Error).message}`, { cause: err });
    }
    checkResponse(line, response);
  });
  t.same(internal, [], 'no request reached the internal-error path');
  assertPrototypesUntouched(t, before);
});

t.test('params by name with evil keys are refused by name, never read from a prototype', async (t) => {
  const dispatcher = new RpcDispatcher(new FakeDaemonApi(), () => undefined);
  const arb = fc.record({ method: fc.constantFrom(...METHODS), key: fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'), value: nastyValue({ maxDepth: 50, hugeBytes: 1024 }) });
  await checkAsyncProperty(t, 'evil param names', arb, 1000, async ({ method, key, value }) => {
    const line = `{"jsonrpc":"2.0","id":7,"method":${JSON.stringify(method)},"params":{${JSON.stringify(key)}:${JSON.stringify(value) ?? 'null'}}}`;
    const response = await dispatcher.dispatch(line, { followLogs: () => undefined });
    if (!response || !('error' in response)) throw new Error(`accepted ${line.slice(0, 200)}`);
    if (response.error.data.code !== ErrorCode.INVALID_PARAMS) throw new Error(`code ${response.error.data.code} for ${line.slice(0, 200)}`);
  });
  assertPrototypesUntouched(t, before);
});

t.test('params nested deeper than the schemas can recurse are refused as invalid params, with an answer', async (t) => {
  const dispatcher = new RpcDispatcher(new FakeDaemonApi(), () => undefined);
  const arb = fc.record({ method: fc.constantFrom('events.emit', 'spawnAgent', 'logs.read'), depth: fc.integer({ min: 1, max: 20_000 }), open: fc.constantFrom('[', '{"a":') });
  await checkAsyncProperty(t, 'deep params', arb, 500, async ({ method, depth, open }) => {
    const value = `${open.repeat(depth)}1${(open === '[' ? ']' : '}').repeat(depth)}`;
    const line = `{"jsonrpc":"2.0","id":1,"method":"${method}","params":["x",${value}]}`;
    let response: RpcResponse | undefined;
    try {
      response = await dispatcher.dispatch(line, { followLogs: () => undefined });
    } catch (err) {
      throw new Error(`dispatch threw at depth ${depth}: ${String(err)}`, { cause: err });
    }
    checkResponse(line, response);
    if (depth > 64 && (!response || !('error' in response) || response.error.code !== RpcCode.INVALID_PARAMS)) throw new Error(`depth ${depth} not refused as invalid params`);
  });
});

t.test('the framer delivers the same lines however the bytes are chunked, and overflows exactly past the limit', async (t) => {
  const line = fc.string({ unit: 'grapheme', maxLength: 60 }).filter((s) => !s.includes('\n') && !s.includes('\r') && s.trim() !== '');
  const arb = fc.record({ lines: fc.array(line, { maxLength: 20 }), cuts: fc.array(fc.nat(), { maxLength: 30 }), max: fc.integer({ min: 1, max: 300 }) });
  checkProperty(t, 'framing', arb, 3000, ({ lines, cuts, max }) => {
    const bytes = Buffer.from(lines.map((l) => `${l}\n`).join(''), 'utf8');
    const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
    const got: string[] = [];
    let overflows = 0;
    const f = new LineFramer(max, (l) => got.push(l), () => (overflows += 1));
    let start = 0;
    for (const cut of [...at, bytes.length]) {
      f.push(bytes.subarray(start, cut));
      start = cut;
    }
    const firstTooLong = lines.findIndex((l) => Buffer.byteLength(l) > max);
    const expected = firstTooLong === -1 ? lines : lines.slice(0, firstTooLong);
    if (JSON.stringify(got) !== JSON.stringify(expected)) throw new Error(`lines ${JSON.stringify(got)} != ${JSON.stringify(expected)}`);
    if (overflows !== (firstTooLong === -1 ? 0 : 1)) throw new Error(`${overflows} overflows`);
  });
});
