// Property tests of the isolate channels' codecs (issue 13 "Fuzz the boundaries"): the docker driver's frame codec
// (the daemon's trust boundary for a container's socket) and the wasm driver's message codec (the QuickJS boundary).
// Valid messages round-trip however the stream is chunked; arbitrary bytes and forged headers are refused with
// FrameError only; a forged buffer marker decodes to data, never to a TypeError; no prototype is touched.
import t from 'tap';
import { assertPrototypesUntouched, checkProperty, fc, mutatedDocument, nastyValue, prototypeFingerprint } from '../../scripts/testing/fuzz-kit.ts';
import { FrameDecoder, FrameError, encodeFrame } from './docker/frame-codec.ts';
import { decodeMessage, encodeMessage } from './wasm/message-codec.ts';

const before = prototypeFingerprint();

/** A channel message with binary payloads where the HAL puts them (camera frames, serial chunks). */
const bytes = fc.uint8Array({ maxLength: 64 });
const channelMessage = fc.record({
  t: fc.constantFrom('req', 'res', 'note'),
  id: fc.nat(),
  method: fc.string({ maxLength: 12 }),
  params: fc.oneof(
    fc.jsonValue({ maxDepth: 3 }),
    fc.record({ frame: bytes, meta: fc.jsonValue({ maxDepth: 2 }) }),
    fc.array(fc.oneof(bytes.map((b) => b.buffer as ArrayBuffer), bytes), { maxLength: 4 }),
    // Keys that are prototype members elsewhere: they must travel as plain own keys. (A buffer under such a key is
    // refused by the decoder, on purpose: its path would reach a prototype.)
    fc.record({ key: fc.constantFrom('__proto__', 'constructor', 'toString'), value: fc.jsonValue({ maxDepth: 2 }) }).map(({ key, value }) => Object.defineProperty({}, key, { value, enumerable: true, writable: true, configurable: true }) as unknown),
  ),
});

function chunked(buffers: Buffer[], cuts: number[]): Buffer[] {
  const all = Buffer.concat(buffers);
  const at = [...new Set(cuts.map((c) => c % (all.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let start = 0;
  for (const cut of [...at, all.length]) {
    out.push(all.subarray(start, cut));
    start = cut;
  }
  return out;
}

/** Buffers as plain arrays of bytes, so a decoded message compares with the sent one. */
function normalise(v: unknown): unknown {
  if (v instanceof ArrayBuffer) return { ab: [...new Uint8Array(v)] };
  if (ArrayBuffer.isView(v)) return { u8: [...new Uint8Array(v.buffer, v.byteOffset, v.byteLength)] };
  if (Array.isArray(v)) return v.map(normalise);
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalise(x)]));
  return v;
}

t.test('docker frames: messages round-trip through the decoder however the stream is cut', async (t) => {
  checkProperty(t, 'frame round trip', fc.tuple(fc.array(channelMessage, { minLength: 1, maxLength: 4 }), fc.array(fc.nat(), { maxLength: 12 })), 1500, ([messages, cuts]) => {
    const decoder = new FrameDecoder({ maxFrameBytes: 1024 * 1024 });
    const got: unknown[] = [];
    for (const chunk of chunked(messages.flatMap((m) => encodeFrame(m)), cuts)) got.push(...decoder.push(chunk));
    // Both sides as plain data: an ArrayBuffer comes back an ArrayBuffer, any view a Uint8Array of the same bytes.
    const want = JSON.stringify(normalise(messages));
    const have = JSON.stringify(normalise(got));
    if (have !== want) throw new Error(`decoded ${have.slice(0, 300)} != ${want.slice(0, 300)}`);
    if (decoder.buffered !== 0) throw new Error(`${decoder.buffered} bytes left over`);
  });
});

/** A frame with a forged header: a valid message's header mutated (paths to __proto__, wrong lengths, ...). */
const forgedFrame = fc.tuple(mutatedDocument(fc.constantFrom<unknown>({ m: { t: 'note', method: 'x', params: { a: null, b: [null] } }, b: [[['params', 'a'], 'u8', 3], [['params', 'b', 0], 'ab', 2]] }), { maxMutations: 4, values: nastyValue({ maxDepth: 50, hugeBytes: 1024 }) }), fc.uint8Array({ maxLength: 16 }), fc.option(fc.nat(), { nil: undefined })).map(([header, body, lie]) => {
  const h = Buffer.from(JSON.stringify(header) ?? 'null');
  const prefix = Buffer.alloc(8);
  prefix.writeUInt32BE(h.length, 0);
  prefix.writeUInt32BE(lie === undefined ? body.length : lie % 64, 4);
  return Buffer.concat([prefix, h, Buffer.from(body)]);
});

t.test('docker frames: forged headers and random bytes are refused with FrameError only, never buffered past the cap', async (t) => {
  const input = fc.oneof(forgedFrame, fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)));
  checkProperty(t, 'frame refusal', fc.tuple(input, fc.array(fc.nat(), { maxLength: 6 })), 4000, ([frame, cuts]) => {
    const decoder = new FrameDecoder({ maxFrameBytes: 4096 });
    try {
      for (const chunk of chunked([frame], cuts)) decoder.push(chunk);
    } catch (err) {
      if (!(err instanceof FrameError)) throw new Error(`untyped refusal: ${String(err)}`, { cause: err });
    }
    if (decoder.buffered > 4096 + 8) throw new Error(`${decoder.buffered} bytes buffered past the cap`);
  });
  assertPrototypesUntouched(t, before);
});

t.test('wasm codec: JSON values and buffers round-trip; a forged buffer marker never throws a TypeError', async (t) => {
  checkProperty(t, 'wasm round trip', channelMessage, 2000, (m) => {
    const { json, buffers } = encodeMessage(m);
    const back = decodeMessage(json, buffers);
    const a = JSON.stringify(normalise(m)).replace(/\{"(ab|u8)":/g, '{"b":');
    const b = JSON.stringify(normalise(back)).replace(/\{"(ab|u8)":/g, '{"b":');
    if (a !== b) throw new Error(`${b.slice(0, 200)} != ${a.slice(0, 200)}`);
  });
  const BUFFER_KEY = '\u0000openstarry:buffer';
  const VIEW_KEY = '\u0000openstarry:view';
  const forged = fc.record({ ref: fc.oneof(fc.nat({ max: 3 }), fc.constantFrom<unknown>('length', '__proto__', 'constructor', -1, 1.5, null, 'x', [], {})), view: fc.oneof(fc.constantFrom<unknown>('Uint8Array', 'Float64Array', 'toString', '__proto__', 'constructor', 'valueOf', 'hasOwnProperty', 'Array', 1, null)), n: fc.nat({ max: 2 }) });
  checkProperty(t, 'wasm forged marker', forged, 2000, ({ ref, view, n }) => {
    const json = JSON.stringify({ t: 'note', method: 'x', params: { [BUFFER_KEY]: ref, [VIEW_KEY]: view } });
    const buffers = Array.from({ length: n }, () => new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]).buffer);
    let decoded: unknown;
    try {
      decoded = decodeMessage(json, buffers);
    } catch (err) {
      throw new Error(`decodeMessage threw: ${String(err)}`, { cause: err });
    }
    const params = (decoded as { params: unknown }).params;
    if (!(params === null || params instanceof ArrayBuffer || ArrayBuffer.isView(params) || (typeof params === 'object' && n === 0))) throw new Error(`a forged marker decoded to ${String(params)}`);
  });
  assertPrototypesUntouched(t, before);
});
