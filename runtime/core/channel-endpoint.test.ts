// ChannelEndpoint over an in-memory port pair that behaves like a MessagePort: delivery on a later microtask,
// and every message structured-cloned (so what crosses is exactly what postMessage would let through).
import t from 'tap';
import { ChannelEndpoint } from './channel-endpoint.ts';
import { inMemoryChannelPair } from './in-memory-channel.ts';
import type { ChannelMessage, IChannelPort } from './channel-messages.ts';
import { ErrorCode, OpenStarryError } from './errors.ts';

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

interface TestPort extends IChannelPort {
  readonly sent: ChannelMessage[];
  closed: boolean;
  /** Delivers a raw value to this port's handler, as if the peer had posted it. */
  inject(value: unknown): void;
}

function portPair(): [TestPort, TestPort] {
  const make = (): TestPort & { handler?: (m: unknown) => void; peer?: TestPort & { handler?: (m: unknown) => void } } => ({
    sent: [],
    closed: false,
    post(message) {
      const copy = structuredClone(message);
      this.sent.push(copy);
      const peer = this.peer;
      if (this.closed || !peer || peer.closed) return;
      queueMicrotask(() => peer.handler?.(copy));
    },
    onMessage(handler) {
      this.handler = handler;
    },
    close() {
      this.closed = true;
    },
    inject(value) {
      this.handler?.(value);
    },
  });
  const a = make();
  const b = make();
  a.peer = b;
  b.peer = a;
  return [a, b];
}

function pair(options: { a?: ConstructorParameters<typeof ChannelEndpoint>[1]; b?: ConstructorParameters<typeof ChannelEndpoint>[1] } = {}) {
  const [pa, pb] = portPair();
  return { a: new ChannelEndpoint(pa, options.a), b: new ChannelEndpoint(pb, options.b), pa, pb };
}

t.test('request/response, sync and async handlers, params and results cross as clones', async (t) => {
  const { a, b } = pair();
  const seen: unknown[] = [];
  b.handle('math.add', (p) => {
    seen.push(p);
    const { x, y } = p as { x: number; y: number };
    return { sum: x + y };
  });
  b.handle('slow.echo', async (p) => {
    await Promise.resolve();
    return p;
  });
  b.handle('nothing', () => undefined);

  const params = { x: 2, y: 3 };
  t.same(await a.request('math.add', params), { sum: 5 });
  t.not(seen[0], params, 'the handler got a clone, as over postMessage');
  t.same(await a.request('slow.echo', [1, 'two', { three: 3 }]), [1, 'two', { three: 3 }]);
  t.equal(await a.request('nothing'), undefined, 'undefined result -> resolves undefined');
  t.equal(await a.request('slow.echo'), undefined, 'no params -> handler gets undefined');
});

t.test('concurrent requests are correlated by id, whatever order the answers come in', async (t) => {
  const { a, b } = pair();
  const gates: (() => void)[] = [];
  b.handle('wait', (p) => new Promise((resolve) => gates.push(() => resolve(p))));
  const first = a.request('wait', 'first');
  const second = a.request('wait', 'second');
  await flush();
  t.equal(gates.length, 2);
  gates[1]?.();
  gates[0]?.();
  t.same(await Promise.all([first, second]), ['first', 'second']);
});

t.test('both ends can request each other on the same channel', async (t) => {
  const { a, b } = pair();
  a.handle('who', () => 'a');
  b.handle('who', () => 'b');
  t.equal(await a.request('who'), 'b');
  t.equal(await b.request('who'), 'a');
});

t.test('a handler throwing an OpenStarryError rejects with the same code and message on the other side', async (t) => {
  const { a, b } = pair();
  b.handle('deny', () => {
    throw new OpenStarryError('ERR_CAPABILITY_DENIED', 'sensor:env0:read not granted', { details: { cap: 'sensor:env0:read' } });
  });
  b.handle('async.fail', async () => {
    throw new OpenStarryError(ErrorCode.AGENT_NOT_FOUND, 'no agent 42');
  });
  b.handle('plain', () => {
    throw new Error('plain failure');
  });
  b.handle('coded', () => {
    throw Object.assign(new Error('disk gone'), { code: 'ERR_STATE_IO' });
  });

  const denied = await a.request('deny').catch((e: unknown) => e);
  t.ok(denied instanceof OpenStarryError, 'a typed error');
  t.match(denied, { code: 'ERR_CAPABILITY_DENIED', message: 'sensor:env0:read not granted', details: { cap: 'sensor:env0:read' } });

  t.match(await a.request('async.fail').catch((e: unknown) => e), { code: 'ERR_AGENT_NOT_FOUND', message: 'no agent 42' });
  const plain = await a.request('plain').catch((e: unknown) => e);
  t.ok(plain instanceof OpenStarryError);
  t.match(plain, { code: ErrorCode.INTERNAL, message: 'plain failure' });
  t.match(await a.request('coded').catch((e: unknown) => e), { code: 'ERR_STATE_IO', message: 'disk gone' });
});

t.test('an unknown method rejects with ERR_METHOD_NOT_FOUND naming it', async (t) => {
  const { a } = pair();
  const err = await a.request('no.such.method').catch((e: unknown) => e);
  t.ok(err instanceof OpenStarryError);
  t.match(err, { code: ErrorCode.METHOD_NOT_FOUND, message: /no\.such\.method/ });
});

t.test('notes reach their handler, carry params, get no response', async (t) => {
  const { a, b, pb } = pair();
  const got: unknown[] = [];
  b.onNote('log', (p) => got.push(p));
  a.notify('log', { level: 'info', message: 'hi' });
  a.notify('log');
  t.same(got, [], 'not delivered synchronously');
  await flush();
  t.same(got, [{ level: 'info', message: 'hi' }, undefined]);
  t.same(pb.sent, [], 'the receiver answered nothing');
  t.equal(a.pending, 0, 'notes are not pending');
});

t.test('a note with no handler is a protocol error on the receiver', async (t) => {
  const reasons: string[] = [];
  const { a } = pair({ b: { onProtocolError: (r) => reasons.push(r) } });
  a.notify('mystery', 1);
  await flush();
  t.equal(reasons.length, 1);
  t.match(reasons[0], /mystery/);
});

t.test('onPendingChange counts up per request and down per answer; pending mirrors it', async (t) => {
  const counts: number[] = [];
  const { a, b } = pair({ a: { onPendingChange: (n) => counts.push(n) } });
  const gates: (() => void)[] = [];
  b.handle('wait', () => new Promise<void>((resolve) => gates.push(resolve)));
  b.handle('fail', () => {
    throw new Error('x');
  });
  const p1 = a.request('wait');
  const p2 = a.request('wait');
  t.equal(a.pending, 2);
  t.same(counts, [1, 2]);
  await flush();
  gates[0]?.();
  await p1;
  t.equal(a.pending, 1);
  gates[1]?.();
  await p2;
  await a.request('fail').catch(() => undefined);
  t.same(counts, [1, 2, 1, 0, 1, 0], 'errors count down too');
  t.equal(a.pending, 0);
});

t.test('close() rejects pending requests with ERR_CHANNEL_CLOSED, is idempotent, drops later sends', async (t) => {
  const counts: number[] = [];
  const { a, b, pa } = pair({ a: { onPendingChange: (n) => counts.push(n) } });
  const received: string[] = [];
  b.handle('never', () => {
    received.push('never');
    return new Promise(() => {});
  });
  b.onNote('n', () => received.push('note'));
  const p1 = a.request('never');
  const p2 = a.request('never');
  a.close('isolate exited');
  t.ok(pa.closed, 'the port is closed');
  const [e1, e2] = await Promise.all([p1.catch((e: unknown) => e), p2.catch((e: unknown) => e)]);
  t.match(e1, { code: ErrorCode.CHANNEL_CLOSED, message: 'isolate exited' });
  t.ok(e1 instanceof OpenStarryError);
  t.match(e2, { code: ErrorCode.CHANNEL_CLOSED });
  t.equal(a.pending, 0);
  t.same(counts, [1, 2, 0]);

  a.close('again');
  t.same(counts, [1, 2, 0], 'second close reports nothing');

  const sentBefore = pa.sent.length;
  const late = await a.request('never').catch((e: unknown) => e);
  t.match(late, { code: ErrorCode.CHANNEL_CLOSED, message: /never/ }, 'request after close rejects at once');
  a.notify('n');
  t.equal(pa.sent.length, sentBefore, 'nothing posted after close');
  t.equal(a.pending, 0);
});

t.test('a request answered after the requester closed is ignored; the answering side stays quiet after its own close', async (t) => {
  const { a, b, pb } = pair();
  let release: (() => void) | undefined;
  b.handle('hold', () => new Promise<void>((resolve) => (release = resolve)));
  const p = a.request('hold').catch((e: unknown) => e);
  await flush();
  b.close();
  release?.();
  await flush();
  t.same(pb.sent, [], 'b posts no reply once closed');
  a.close();
  t.match(await p, { code: ErrorCode.CHANNEL_CLOSED });
});

t.test('malformed messages go to onProtocolError and change nothing', async (t) => {
  const reasons: string[] = [];
  const counts: number[] = [];
  const { a, pa } = pair({ a: { onProtocolError: (r) => reasons.push(r), onPendingChange: (n) => counts.push(n) } });
  const bad: unknown[] = [
    null,
    undefined,
    42,
    'req',
    [],
    {},
    { t: 'req', method: 'x' },
    { t: 'req', id: '1', method: 'x' },
    { t: 'res', id: 1 },
    { t: 'res', ok: true },
    { t: 'note' },
    { t: 'unknown', method: 'x' },
  ];
  for (const value of bad) pa.inject(value);
  t.equal(reasons.length, bad.length, 'one protocol error per malformed message');
  t.ok(reasons.every((r) => r === 'malformed channel message'));
  t.same(pa.sent, [], 'nothing answered');
  t.same(counts, []);
  t.equal(a.pending, 0);
});

t.test('a failed response without a usable error object is a protocol error, not a throw', async (t) => {
  const reasons: string[] = [];
  const { a, pa } = pair({ a: { onProtocolError: (r) => reasons.push(r) } });
  a.handle('noop', () => undefined);
  const pending = a.request('never-answered-by-peer-handler');
  const id = (pa.sent[0] as { id: number }).id;
  t.doesNotThrow(() => pa.inject({ t: 'res', id, ok: false }));
  t.doesNotThrow(() => pa.inject({ t: 'res', id, ok: false, error: { code: 7, message: 'x' } }));
  t.equal(reasons.length, 2);
  t.equal(a.pending, 1, 'the request is still pending: the malformed reply did not settle it');
  a.close();
  t.match(await pending.catch((e: unknown) => e), { code: ErrorCode.CHANNEL_CLOSED });
});

t.test('a response for an unknown id is ignored', async (t) => {
  const reasons: string[] = [];
  const counts: number[] = [];
  const { a, pa } = pair({ a: { onProtocolError: (r) => reasons.push(r), onPendingChange: (n) => counts.push(n) } });
  pa.inject({ t: 'res', id: 999, ok: true, result: 1 });
  t.same(reasons, []);
  t.same(counts, []);
  t.equal(a.pending, 0);
});

t.test('a result that cannot be cloned comes back as an error instead of hanging the requester', async (t) => {
  const { a, b } = pair();
  b.handle('fn', () => ({ f: () => 1 }));
  const err = await a.request('fn').catch((e: unknown) => e);
  t.ok(err instanceof OpenStarryError);
  t.match(err, { code: ErrorCode.INTERNAL });
  t.equal(a.pending, 0);
});

t.test('params that cannot be cloned reject the request and leave nothing pending', async (t) => {
  const counts: number[] = [];
  const { a, b } = pair({ a: { onPendingChange: (n) => counts.push(n) } });
  b.handle('x', () => 1);
  const err = await a.request('x', { f: () => 1 }).catch((e: unknown) => e);
  t.ok(err instanceof Error, 'rejected, not thrown synchronously');
  t.equal(a.pending, 0);
  t.equal(counts.at(-1), 0, 'pending count reported back to 0');
  t.equal(await a.request('x'), 1, 'the channel still works');
});

t.test('maxInFlight: requests beyond the cap wait on the sending side and go out as answers come back', async (t) => {
  const [a, b] = inMemoryChannelPair();
  const sender = new ChannelEndpoint(a, { maxInFlight: 2 });
  const receiver = new ChannelEndpoint(b);
  const release: (() => void)[] = [];
  let seen = 0;
  receiver.handle('slow', () => {
    seen += 1;
    return new Promise<void>((r) => release.push(r));
  });
  const calls = [1, 2, 3, 4, 5].map(() => sender.request('slow'));
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  t.equal(seen, 2, 'only two crossed the channel');
  t.equal(sender.pending, 5, 'all five count as pending on the sender (keep-alive)');
  while (release.length > 0 || seen < 5) {
    release.shift()?.();
    await new Promise((r) => setImmediate(r));
  }
  await Promise.all(calls);
  t.equal(seen, 5);
  t.equal(sender.pending, 0);
  const late = sender.request('slow');
  sender.close();
  await t.rejects(late, { code: 'ERR_CHANNEL_CLOSED' });
});
