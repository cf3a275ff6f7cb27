// The socket framing of the channel: whole messages out of any chunking, buffers carried raw and put back at
// their paths, and every malformed or oversized frame refused (the daemon then drops the container's connection).
import t from 'tap';
import { FrameDecoder, FrameError, encodeFrame } from './frame-codec.ts';

const concat = (chunks: Buffer[]) => Buffer.concat(chunks);

t.test('a message with buffers round-trips; buffers come back as the same kind at the same paths', async (t) => {
  const jpeg = new Uint8Array([0xff, 0xd8, 1, 2, 3]).buffer;
  const view = new Uint8Array([9, 8, 7, 6]).subarray(1, 3);
  const message = { t: 'res', id: 3, ok: true, result: { seq: 1, jpeg, list: [view, 'x', null], nested: { empty: new ArrayBuffer(0) } } };
  const [decoded] = new FrameDecoder().push(concat(encodeFrame(message)));
  const r = (decoded as typeof message).result;
  t.ok(r.jpeg instanceof ArrayBuffer);
  t.same([...new Uint8Array(r.jpeg)], [0xff, 0xd8, 1, 2, 3]);
  t.ok(r.list[0] instanceof Uint8Array);
  t.same([...(r.list[0] as Uint8Array)], [8, 7], 'only the view\'s bytes travel');
  t.same(r.list.slice(1), ['x', null]);
  t.equal(r.nested.empty.byteLength, 0);
  t.equal(r.seq, 1);
});

t.test('a buffer-shaped object in agent data stays data (paths, not in-band markers)', async (t) => {
  const message = { t: 'note', method: 'log', params: { b: [[['params'], 'ab', 0]], m: 1 } };
  t.same(new FrameDecoder().push(concat(encodeFrame(message))), [message]);
});

t.test('partial reads: byte by byte, and several frames in one chunk', async (t) => {
  const a = concat(encodeFrame({ t: 'req', id: 1, method: 'hal.read', params: { sensorType: 'temperature' } }));
  const b = concat(encodeFrame({ t: 'note', method: 'x', params: { data: new Uint8Array(70_000).fill(7).buffer } }));
  const decoder = new FrameDecoder();
  const out: unknown[] = [];
  for (const byte of a) out.push(...decoder.push(Buffer.from([byte])));
  t.equal(out.length, 1);
  t.equal(decoder.buffered, 0);
  const both = concat([a, b, a]);
  out.push(...decoder.push(both.subarray(0, a.length + 5)));
  t.equal(out.length, 2);
  out.push(...decoder.push(both.subarray(a.length + 5)));
  t.equal(out.length, 4);
  const big = (out[2] as { params: { data: ArrayBuffer } }).params.data;
  t.equal(big.byteLength, 70_000);
  t.equal(new Uint8Array(big)[69_999], 7);
});

t.test('a frame over the limit is refused from its prefix, before its bytes are buffered', async (t) => {
  const decoder = new FrameDecoder({ maxFrameBytes: 1024 });
  const frame = concat(encodeFrame({ t: 'note', method: 'x', params: { data: new ArrayBuffer(2048) } }));
  t.throws(() => decoder.push(frame.subarray(0, 8)), FrameError);
  const prefix = Buffer.alloc(8);
  prefix.writeUInt32BE(0xffffffff, 0);
  t.throws(() => new FrameDecoder().push(prefix), /over the .*-byte limit/);
});

t.test('garbage is refused: non-JSON header, empty header, bad buffer entries, forbidden keys, stray body bytes', async (t) => {
  const frame = (header: string, body = Buffer.alloc(0)) => {
    const h = Buffer.from(header);
    const p = Buffer.alloc(8);
    p.writeUInt32BE(h.length, 0);
    p.writeUInt32BE(body.length, 4);
    return Buffer.concat([p, h, body]);
  };
  const bad: [string, Buffer][] = [
    ['not json', frame('hello world')],
    ['empty header', frame('')],
    ['no message', frame('{"x":1}')],
    ['entry list not an array', frame('{"m":{},"b":5}')],
    ['entry shape', frame('{"m":{"a":null},"b":[["a"]]}', Buffer.alloc(1))],
    ['path does not fit', frame('{"m":{"a":null},"b":[[["zz"],"ab",1]]}', Buffer.alloc(1))],
    ['prototype key', frame('{"m":{"__proto__":null},"b":[[["__proto__"],"ab",1]]}', Buffer.alloc(1))],
    ['entries exceed body', frame('{"m":{"a":null},"b":[[["a"],"ab",5]]}', Buffer.alloc(1))],
    ['unclaimed body bytes', frame('{"m":{}}', Buffer.alloc(3))],
    ['unknown kind', frame('{"m":{"a":null},"b":[[["a"],"f64",1]]}', Buffer.alloc(1))],
  ];
  for (const [name, bytes] of bad) t.throws(() => new FrameDecoder().push(bytes), FrameError, name);
  t.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'a'), false);
});

t.test('a message with a cycle cannot be framed', async (t) => {
  const o: Record<string, unknown> = { t: 'note', method: 'x' };
  o.self = o;
  t.throws(() => encodeFrame(o), /cycle/);
});
