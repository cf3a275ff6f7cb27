/**
 * Property tests of the daemon's boundaries (issue 13 "Fuzz the boundaries"): fast-check with a fixed seed, so a
 * run is reproducible and CI sees the same cases every time; fast-check prints the seed and the shrunk
 * counterexample on failure. `OPENSTARRY_FUZZ_SEED` replays another seed, `OPENSTARRY_FUZZ_RUNS` scales the
 * number of cases (e.g. 10 for a long local hunt).
 *
 * The generators mutate valid documents rather than throwing random bytes at a parser: most random bytes are
 * refused by the first JSON.parse and never reach the schema or the code behind it.
 */
import fc from 'fast-check';
import type { Test } from 'tap';
import { OpenStarryError } from '../../runtime/errors.ts';
import { methodParamNames } from '../../runtime/control/protocol.ts';
import type { MethodName } from '../../runtime/control/protocol.ts';

export { fc };

const DEFAULT_SEED = 13_013;

export function fuzzSeed(): number {
  const raw = process.env.OPENSTARRY_FUZZ_SEED;
  return raw === undefined || raw === '' ? DEFAULT_SEED : Number(raw);
}

/** fast-check parameters: the fixed seed and `runs` cases (times OPENSTARRY_FUZZ_RUNS). */
export function fuzzParams(runs: number): fc.Parameters<unknown> {
  const scale = Number(process.env.OPENSTARRY_FUZZ_RUNS ?? 1) || 1;
  return { seed: fuzzSeed(), numRuns: Math.max(1, Math.round(runs * scale)), endOnFailure: false };
}

/** Runs a synchronous property; a failure fails the tap test with fast-check's report (seed, path, counterexample). */
/** fast-check's report with long counterexamples cut (a 100,000-deep value would fill the log). */
function report<T>(name: string, result: fc.RunDetails<T>): string {
  const text = fc.defaultReportMessage(result) ?? 'failed';
  const error = result.errorInstance instanceof Error ? result.errorInstance.message : String(result.errorInstance);
  return `${name}: ${error.slice(0, 1000)}\n${text.length > 3000 ? `${text.slice(0, 1500)} …[${text.length - 3000} characters cut]… ${text.slice(-1500)}` : text}`;
}

export function checkProperty<T>(t: Test, name: string, arb: fc.Arbitrary<T>, runs: number, predicate: (value: T) => void): void {
  const result = fc.check(fc.property(arb, (v) => predicate(v)), fuzzParams(runs) as fc.Parameters<[T]>);
  if (result.failed) t.fail(report(name, result));
  else t.pass(`${name}: ${result.numRuns} cases (seed ${fuzzSeed()})`);
}

export async function checkAsyncProperty<T>(t: Test, name: string, arb: fc.Arbitrary<T>, runs: number, predicate: (value: T) => Promise<void>): Promise<void> {
  const result = await fc.check(fc.asyncProperty(arb, (v) => predicate(v)), fuzzParams(runs) as fc.Parameters<[T]>);
  if (result.failed) t.fail(report(name, result));
  else t.pass(`${name}: ${result.numRuns} cases (seed ${fuzzSeed()})`);
}

/**
 * A refusal must be the typed error: an OpenStarryError with one of `codes`, a message, and (where the boundary
 * promises it) details naming the field. Anything else — TypeError, RangeError, a string — fails the property.
 */
export function assertTyped(err: unknown, codes: readonly string[], where: string): OpenStarryError {
  if (!(err instanceof OpenStarryError)) throw new Error(`${where}: untyped throw: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`, { cause: err });
  if (!codes.includes(err.code)) throw new Error(`${where}: unexpected code ${err.code}: ${err.message}`);
  if (err.message === '') throw new Error(`${where}: ${err.code} without a message`);
  return err;
}

const PROTOTYPES: readonly [string, object][] = [
  ['Object.prototype', Object.prototype],
  ['Array.prototype', Array.prototype],
  ['Function.prototype', Function.prototype],
  ['String.prototype', String.prototype],
];

/** A fingerprint of the shared prototypes; compare before and after a run to catch prototype pollution. */
export function prototypeFingerprint(): string {
  return PROTOTYPES.map(([name, proto]) => `${name}:${Reflect.ownKeys(proto).map(String).sort().join(',')}`).join('\n');
}

/** Fails when a generated input reached a shared prototype (a key added, or `polluted` readable from `{}`). */
export function assertPrototypesUntouched(t: Test, before: string): void {
  t.equal(prototypeFingerprint(), before, 'no shared prototype gained or lost a key');
  t.equal(({} as Record<string, unknown>).polluted, undefined, '({}).polluted is still undefined');
  t.equal(Object.getPrototypeOf({}), Object.prototype, 'a fresh object still has Object.prototype');
}

/** Keys that reach a prototype when code copies them with `obj[key] = value`. */
export const EVIL_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf'] as const;

/** Sets an own property, even `__proto__` (as JSON.parse does), so the document carries it through stringify. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function deepNest(depth: number, kind: 'array' | 'object'): unknown {
  let v: unknown = 0;
  for (let i = 0; i < depth; i++) v = kind === 'array' ? [v] : { a: v };
  return v;
}

/** Values that break naive code: wrong types, edge numbers, odd strings, huge and deep values, pollution payloads. */
export function nastyValue(options: { maxDepth?: number; hugeBytes?: number } = {}): fc.Arbitrary<unknown> {
  const maxDepth = options.maxDepth ?? 1_000;
  const huge = options.hugeBytes ?? 256 * 1024;
  const pollution = fc.constantFrom(...EVIL_KEYS).map((k) => {
    const o: Record<string, unknown> = {};
    setOwn(o, k, { polluted: true });
    return o;
  });
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom<unknown>(null, true, false, 0, -0, 1, -1, 0.5, 1e308, -1e308, 2 ** 53, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, '', ' ', '0', 'true', 'null', '\u0000', '\uFFFF', '\uD800', '💥', '../../etc/passwd', '/etc/passwd', '${x}', '*', '#', '+', '$SYS', [], {}) },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: huge }).map((n) => 'x'.repeat(n)) },
    { weight: 1, arbitrary: fc.integer({ min: 2, max: maxDepth }).chain((d) => fc.constantFrom('array' as const, 'object' as const).map((k) => deepNest(d, k))) },
    { weight: 2, arbitrary: pollution },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
    { weight: 1, arbitrary: fc.double() },
    { weight: 1, arbitrary: fc.integer() },
  );
}

type Mutation =
  | { op: 'drop'; at: number }
  | { op: 'retype'; at: number; value: unknown }
  | { op: 'rename'; at: number; key: string }
  | { op: 'add'; at: number; key: string; value: unknown };

/** Every container (object or array) in `doc` with the path to it, the root first. */
function containers(doc: unknown, out: Record<string, unknown>[] = [], depth = 0): Record<string, unknown>[] {
  // Not into a deep value a mutation put there: those are for the parser, not for more mutations.
  if (typeof doc === 'object' && doc !== null && depth < 12) {
    out.push(doc as Record<string, unknown>);
    for (const v of Object.values(doc)) containers(v, out, depth + 1);
  }
  return out;
}

/**
 * structuredClone of a mutation's value; a value nested too deep to clone on this stack (nastyValue builds some
 * thousands of levels deep, and how deep a clone can go depends on the stack the runner leaves) is used as it is:
 * it was built for this case alone, never one of fast-check's shared constants.
 */
function copyOf(value: unknown): unknown {
  try {
    return structuredClone(value);
  } catch (err) {
    if (err instanceof RangeError) return value;
    throw err;
  }
}

function applyMutation(doc: unknown, raw: Mutation): unknown {
  // A copy: fast-check hands out the same constant ({}, []) to many cases, and a later mutation must not write into
  // it (that made documents circular and cases depend on each other).
  const m = 'value' in raw ? { ...raw, value: copyOf(raw.value) } : raw;
  const all = containers(doc);
  const target = all[m.at % Math.max(1, all.length)];
  if (target === undefined) return m.op === 'retype' ? m.value : doc;
  const keys = Object.keys(target);
  const key = keys[m.at % Math.max(1, keys.length)];
  switch (m.op) {
    case 'drop':
      if (key !== undefined) {
        if (Array.isArray(target)) target.splice(Number(key), 1);
        else delete target[key];
      }
      return doc;
    case 'retype':
      if (key === undefined || (m.at % 17 === 0 && target === doc)) return m.value;
      setOwn(target, key, m.value);
      return doc;
    case 'rename':
      if (key !== undefined && !Array.isArray(target)) {
        const v = target[key];
        delete target[key];
        setOwn(target, m.key, v);
      }
      return doc;
    case 'add':
      if (Array.isArray(target)) target.push(m.value);
      else setOwn(target, m.key, m.value);
      return doc;
  }
}

const mutationKey = fc.oneof(fc.constantFrom(...EVIL_KEYS), fc.string({ maxLength: 12 }), fc.constantFrom('id', 'name', 'params', 'method', 'data', 'type', ''));

function mutation(values: fc.Arbitrary<unknown>): fc.Arbitrary<Mutation> {
  const at = fc.nat({ max: 10_000 });
  return fc.oneof(
    fc.record({ op: fc.constant('drop' as const), at }),
    fc.record({ op: fc.constant('retype' as const), at, value: values }),
    fc.record({ op: fc.constant('rename' as const), at, key: mutationKey }),
    fc.record({ op: fc.constant('add' as const), at, key: mutationKey, value: values }),
  );
}

/**
 * A valid document (from `valid`, or one of `seeds`) with 0 to `maxMutations` mutations: fields dropped, renamed
 * (often to `__proto__`/`constructor`), retyped or added, with values from nastyValue. 0 mutations keeps some
 * cases valid, so the property also covers the accepting path.
 */
export function mutatedDocument(valid: fc.Arbitrary<unknown>, options: { maxMutations?: number; values?: fc.Arbitrary<unknown> } = {}): fc.Arbitrary<unknown> {
  const values = options.values ?? nastyValue();
  return fc.tuple(valid, fc.array(mutation(values), { maxLength: options.maxMutations ?? 3 })).map(([doc, ms]) => {
    let out: unknown = structuredClone(doc);
    for (const m of ms) out = applyMutation(out, m);
    return out;
  });
}

/**
 * JSON text of a document, or (one case in ten each) that text cut short, with a stray byte, or wrapped in up to
 * 20,000 levels of arrays (built as text: a value that deep cannot be stringified on a small stack).
 */
export function jsonText(doc: fc.Arbitrary<unknown>): fc.Arbitrary<string> {
  return fc.tuple(doc, fc.nat({ max: 9 }), fc.nat(), fc.constantFrom('\u0000', '}', ']', '"', ',', '\\', '\uD800', '\n')).map(([d, pick, at, stray]) => {
    const text = JSON.stringify(d) ?? 'null';
    if (pick === 2) {
      const depth = 1 + (at % 20_000);
      return `${'['.repeat(depth)}${text}${']'.repeat(depth)}`;
    }
    if (pick === 0) return text.slice(0, at % (text.length + 1));
    if (pick === 1) {
      const i = at % (text.length + 1);
      return text.slice(0, i) + stray + text.slice(i);
    }
    return text;
  });
}

/**
 * A control-plane request that `methods` accept, positional or by name (JSON-RPC 2.0 §4.2), for mutatedDocument to
 * start from: the unit property test and the e2e one against the built daemon send the same kind of requests.
 */
export function validControlRequest(methods: readonly MethodName[]): fc.Arbitrary<Record<string, unknown>> {
  return fc
    .record({
      method: fc.constantFrom(...methods),
      id: fc.oneof(fc.integer(), fc.string({ maxLength: 8 }), fc.constant(null)),
      byName: fc.boolean(),
      target: fc.constantFrom('thermostat', 'agents/x/agent.json', '1', 'missing'),
      lines: fc.integer({ min: 1, max: 100 }),
    })
    .map(({ method, id, byName, target, lines }) => {
      const values: Record<string, unknown> = { target, options: { lines }, pid: '999', signal: 'SIGKILL', name: 'door/opened', data: { open: true } };
      if (method === 'spawnAgent') values.options = { isolation: 'worker' };
      const names = methodParamNames[method];
      const params = byName ? Object.fromEntries(names.map((n) => [n, values[n]])) : names.map((n) => values[n]);
      return { jsonrpc: '2.0', id, method, params };
    });
}
