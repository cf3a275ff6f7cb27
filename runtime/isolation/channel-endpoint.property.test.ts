// Property tests of the isolate channel's receiving end (runtime/core/channel-endpoint.ts, here because runtime/core
// may not import the test kit) (issue 13 "Fuzz the boundaries"): whatever a hostile
// isolate posts — malformed shapes, unknown methods, forged responses, evil keys, handlers that throw — the
// endpoint never throws into the port's message event, reports malformed messages as protocol errors, answers
// every well-formed request exactly once, and no shared prototype is touched.
import t from 'tap';
import { assertPrototypesUntouched, checkAsyncProperty, checkProperty, fc, mutatedDocument, nastyValue, prototypeFingerprint } from '../../scripts/testing/fuzz-kit.ts';
import { ChannelEndpoint } from '../core/channel-endpoint.ts';
import type { ChannelMessage, IChannelPort } from '../core/channel-messages.ts';
import { isChannelMessage } from '../core/channel-messages.ts';
import { OpenStarryError } from '../core/errors.ts';

const before = prototypeFingerprint();

/** A port the test drives by hand: `deliver` is what the other side posted, `sent` what this side answered. */
function manualPort(): IChannelPort & { deliver(m: unknown): void; sent: ChannelMessage[] } {
  let handler: ((m: unknown) => void) | undefined;
  const sent: ChannelMessage[] = [];
  return {
    sent,
    post: (m) => void sent.push(m),
    onMessage: (h) => void (handler = h),
    close: () => undefined,
    deliver: (m) => handler?.(m),
  };
}

const method = fc.oneof(fc.constantFrom('log', 'lifecycle', 'echo', 'throws', 'rejects', 'hal.read', '__proto__', 'constructor', 'toString', 'hasOwnProperty', ''), fc.string({ maxLength: 10 }));
const validMessage = fc.oneof(
  fc.record({ t: fc.constant('req'), id: fc.nat({ max: 50 }), method, params: fc.jsonValue({ maxDepth: 2 }) }),
  fc.record({ t: fc.constant('note'), method, params: fc.jsonValue({ maxDepth: 2 }) }),
  fc.record({ t: fc.constant('res'), id: fc.nat({ max: 50 }), ok: fc.constant(true), result: fc.jsonValue({ maxDepth: 2 }) }),
  fc.record({ t: fc.constant('res'), id: fc.nat({ max: 50 }), ok: fc.constant(false), error: fc.record({ code: fc.constantFrom('ERR_INTERNAL', 'ERR_X', '__proto__'), message: fc.string({ maxLength: 20 }), details: fc.jsonValue({ maxDepth: 2 }) }) }),
);
const message = fc.oneof({ weight: 5, arbitrary: mutatedDocument(validMessage, { values: nastyValue({ maxDepth: 100, hugeBytes: 4096 }) }) }, { weight: 1, arbitrary: nastyValue({ maxDepth: 100, hugeBytes: 4096 }) });

t.test('isChannelMessage never throws and accepts only the three shapes', async (t) => {
  checkProperty(t, 'shape', message, 5000, (m) => {
    const ok = isChannelMessage(m);
    if (!ok) return;
    const v = m as Record<string, unknown>;
    if (!['req', 'res', 'note'].includes(v.t as string)) throw new Error(`accepted t=${String(v.t)}`);
    if (v.t !== 'res' && typeof v.method !== 'string') throw new Error('accepted without a method');
  });
});

t.test('a hostile peer cannot make the endpoint throw, go unanswered, or pollute a prototype', async (t) => {
  await checkAsyncProperty(t, 'endpoint', fc.array(message, { minLength: 1, maxLength: 8 }), 1500, async (messages) => {
    const port = manualPort();
    const protocolErrors: string[] = [];
    const ep = new ChannelEndpoint(port, { onProtocolError: (r) => void protocolErrors.push(r) });
    ep.onNote('log', () => undefined);
    ep.onNote('lifecycle', (p) => {
      if ((p as { state?: unknown }).state === undefined) throw new Error('note handler failed');
    });
    ep.handle('echo', (p) => p);
    ep.handle('throws', () => {
      throw new Error('handler threw');
    });
    ep.handle('rejects', () => Promise.reject(new OpenStarryError('ERR_X', 'rejected')));
    // Requests of our own, so forged responses have something to resolve or reject.
    const mine = [ep.request('agent.usage'), ep.request('agent.snapshot')].map((p) => p.then(() => 'ok', (e: unknown) => e));
    let requests = 0;
    for (const m of messages) {
      if (isChannelMessage(m) && m.t === 'req') requests += 1;
      try {
        port.deliver(m);
      } catch (err) {
        throw new Error(`the endpoint threw into the port: ${String(err)}`, { cause: err });
      }
    }
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    const answers = port.sent.filter((s) => s.t === 'res');
    if (answers.length !== requests) throw new Error(`${requests} requests, ${answers.length} answers`);
    for (const a of answers) if (!a.ok && (typeof a.error.code !== 'string' || typeof a.error.message !== 'string')) throw new Error('an error answer without code/message');
    ep.close();
    for (const r of await Promise.all(mine)) if (r !== 'ok' && !(r instanceof Error)) throw new Error(`a forged response rejected with a non-Error: ${String(r)}`);
  });
  assertPrototypesUntouched(t, before);
});
