// encodeSnapshot: only plain JSON data, under the size cap, copied; everything else is a typed error naming the path.
import t from 'tap';
import { ErrorCode, OpenStarryError } from '../errors.ts';
import { encodeSnapshot } from './json-snapshot.ts';

const CAP = 1024;

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err instanceof OpenStarryError ? err.code : 'not an OpenStarryError';
  }
}

t.test('plain JSON passes and comes back as a detached copy', async (t) => {
  const value = { temp: 21.5, on: true, name: 'fan', tags: ['a', null], nested: { deep: [1, { x: 'y' }] } };
  const out = encodeSnapshot('thermostat', value, CAP);
  t.same(out.value, value);
  t.not(out.value, value);
  value.nested.deep.push(2);
  t.same((out.value as { nested: { deep: unknown[] } }).nested.deep, [1, { x: 'y' }], 'later changes by the agent do not leak in');
  t.equal(out.text, JSON.stringify(out.value));
  t.equal(out.bytes, Buffer.byteLength(out.text));
  for (const scalar of [null, 0, 'x', false, []]) t.same(encodeSnapshot('a', scalar, CAP).value, scalar);
});

t.test('a shared (acyclic) reference is fine; JSON writes it twice', async (t) => {
  const shared = { n: 1 };
  t.same(encodeSnapshot('a', { a: shared, b: [shared] }, CAP).value, { a: { n: 1 }, b: [{ n: 1 }] });
});

t.test('an undefined property is dropped as JSON drops it', async (t) => {
  t.same(encodeSnapshot('a', { keep: 1, gone: undefined }, CAP).value, { keep: 1 });
});

t.test('non-JSON values are ERR_STATE_INVALID with the path', async (t) => {
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = { back: cyclic };
  const cyclicArray: unknown[] = [];
  cyclicArray.push(cyclicArray);
  class Reading {
    value = 1;
  }
  const cases: [string, unknown, RegExp][] = [
    ['function', { on: () => 1 }, /a function at on/],
    ['BigInt', { count: 10n }, /a bigint at count/],
    ['symbol', [Symbol('s')], /a symbol at \[0\]/],
    ['top-level undefined', undefined, /an? undefined at \(root\)/],
    ['undefined in an array', [1, undefined], /\[1\]/],
    ['cycle', cyclic, /a cycle at self\.back/],
    ['array cycle', cyclicArray, /a cycle at \[0\]/],
    ['NaN', { t: NaN }, /NaN/],
    ['Infinity', { t: Infinity }, /Infinity/],
    ['Map', { m: new Map([[1, 2]]) }, /a Map at m/],
    ['Date', { d: new Date(0) }, /a Date at d/],
    ['class instance', new Reading(), /a Reading at \(root\)/],
  ];
  for (const [name, value, message] of cases) {
    try {
      encodeSnapshot('agent-x', value, CAP);
      t.fail(`${name} was accepted`);
    } catch (err) {
      t.ok(err instanceof OpenStarryError, name);
      t.equal((err as OpenStarryError).code, ErrorCode.STATE_INVALID, name);
      t.match((err as OpenStarryError).message, message, name);
      t.match((err as OpenStarryError).message, /agent "agent-x"/, name);
    }
  }
});

t.test('runaway nesting is refused before it overflows the stack', async (t) => {
  let deep: unknown = 1;
  for (let i = 0; i < 10_000; i++) deep = [deep];
  t.equal(codeOf(() => encodeSnapshot('a', deep, 1e9)), ErrorCode.STATE_INVALID);
});

t.test('over the cap is ERR_STATE_TOO_LARGE, counted in UTF-8 bytes', async (t) => {
  t.equal(codeOf(() => encodeSnapshot('a', 'x'.repeat(CAP - 2), CAP)), undefined, 'exactly the cap (quotes included)');
  t.equal(codeOf(() => encodeSnapshot('a', 'x'.repeat(CAP - 1), CAP)), ErrorCode.STATE_TOO_LARGE);
  t.equal(codeOf(() => encodeSnapshot('a', 'é'.repeat(CAP / 2), CAP)), ErrorCode.STATE_TOO_LARGE, 'é is two bytes');
  try {
    encodeSnapshot('big', { blob: 'x'.repeat(2000) }, CAP);
    t.fail('over the cap was accepted');
  } catch (err) {
    t.same((err as OpenStarryError).details, { agentId: 'big', bytes: 2011, maxBytes: CAP });
  }
});
