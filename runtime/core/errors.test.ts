// The error registry and its wire form: what crosses the channel and the control plane as { code, message }
// must come out as the same typed error on the other side (docs/ARCHITECTURE.md "Error registry").
import t from 'tap';
import { ErrorCode, OpenStarryError, errorFromWire, errorToWire, isOpenStarryError } from './errors.ts';

t.test('every registry value is an ERR_ code and unique', async (t) => {
  const values = Object.values(ErrorCode);
  t.ok(values.every((v) => /^ERR_[A-Z_]+$/.test(v)));
  t.equal(new Set(values).size, values.length);
});

t.test('OpenStarryError keeps code, message, cause and details', async (t) => {
  const cause = new Error('root');
  const err = new OpenStarryError(ErrorCode.AGENT_EXISTS, 'agent "x" is running', { cause, details: { pid: '3' } });
  t.ok(err instanceof Error);
  t.ok(isOpenStarryError(err));
  t.notOk(isOpenStarryError(new Error('x')));
  t.notOk(isOpenStarryError({ code: 'ERR_INTERNAL', message: 'look-alike' }));
  t.equal(err.name, 'OpenStarryError');
  t.equal(err.code, 'ERR_AGENT_EXISTS');
  t.equal(err.message, 'agent "x" is running');
  t.equal(err.cause, cause);
  t.same(err.details, { pid: '3' });
  const bare = new OpenStarryError(ErrorCode.INTERNAL, 'x');
  t.notOk('cause' in bare, 'no cause property when none was given');
  t.equal(bare.details, undefined);
});

t.test('OpenStarryError -> wire -> OpenStarryError round trip, with and without details', async (t) => {
  for (const original of [
    new OpenStarryError(ErrorCode.TEMPLATE_NOT_FOUND, 'no template "x"'),
    new OpenStarryError(ErrorCode.MANIFEST_INVALID, 'bad', { details: { problems: [{ path: 'id', message: 'bad id' }] } }),
    new OpenStarryError('ERR_CAPABILITY_DENIED', 'not granted'),
  ]) {
    const wire = errorToWire(original);
    t.same(Object.keys(wire).sort(), original.details === undefined ? ['code', 'message'] : ['code', 'details', 'message']);
    const back = errorFromWire(structuredClone(wire));
    t.ok(back instanceof OpenStarryError);
    t.equal(back.code, original.code);
    t.equal(back.message, original.message);
    t.same(back.details, original.details);
  }
});

t.test('a plain Error with an ERR_ code keeps it; other codes and plain errors become ERR_INTERNAL', async (t) => {
  t.same(errorToWire(Object.assign(new Error('disk gone'), { code: 'ERR_STATE_IO' })), { code: 'ERR_STATE_IO', message: 'disk gone' });
  t.same(errorToWire(Object.assign(new Error('no file'), { code: 'ENOENT' })), { code: ErrorCode.INTERNAL, message: 'no file' });
  t.same(errorToWire(Object.assign(new Error('numeric'), { code: 42 })), { code: ErrorCode.INTERNAL, message: 'numeric' });
  t.same(errorToWire(new TypeError('bad type')), { code: ErrorCode.INTERNAL, message: 'bad type' });
  const nodeErr = Object.assign(new Error('already'), { code: 'ERR_INVALID_ARG_TYPE' });
  t.equal(errorToWire(nodeErr).code, 'ERR_INVALID_ARG_TYPE', 'node\'s own ERR_ codes pass through');
});

t.test('non-Error values become ERR_INTERNAL with their string form', async (t) => {
  t.same(errorToWire('just a string'), { code: ErrorCode.INTERNAL, message: 'just a string' });
  t.same(errorToWire(42), { code: ErrorCode.INTERNAL, message: '42' });
  t.same(errorToWire(undefined), { code: ErrorCode.INTERNAL, message: 'undefined' });
  t.same(errorToWire(null), { code: ErrorCode.INTERNAL, message: 'null' });
  t.same(errorToWire({ code: 'ERR_AGENT_EXISTS', message: 'look-alike' }), { code: ErrorCode.INTERNAL, message: '[object Object]' }, 'a plain object is not trusted for its code');
});

t.test('errorFromWire keeps known and ERR_-shaped codes, maps anything else to ERR_INTERNAL', async (t) => {
  t.equal(errorFromWire({ code: ErrorCode.NOT_READY, message: 'booting' }).code, 'ERR_NOT_READY');
  t.equal(errorFromWire({ code: 'ERR_FROM_A_LATER_PART', message: 'x' }).code, 'ERR_FROM_A_LATER_PART');
  const odd = errorFromWire({ code: 'EACCES', message: 'permission denied' });
  t.equal(odd.code, ErrorCode.INTERNAL);
  t.equal(odd.message, 'permission denied', 'message kept');
  t.equal(errorFromWire({ code: '', message: 'x' }).code, ErrorCode.INTERNAL);
  t.equal(errorFromWire({ code: 'ERR_X', message: 'x' }).details, undefined);
});
