import { readFileSync } from 'node:fs';
import t from 'tap';
import { JpegSplitter } from './jpeg-splitter.ts';

const fixture = (n: number): Buffer => readFileSync(new URL(`./sim-frames/frame-${n}.jpg`, import.meta.url));
const FRAMES = [1, 2, 3, 4].map(fixture);

const seg = (marker: number, payload: Buffer): Buffer => {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(payload.length + 2);
  return Buffer.concat([Buffer.from([0xff, marker]), len, payload]);
};
/** A structurally valid JPEG (not a decodable image): SOI, COM, SOS, entropy data with stuffed FFs, EOI. */
function synthetic(entropyBytes: number, comment = 'synthetic'): Buffer {
  const entropy = Buffer.alloc(entropyBytes);
  for (let i = 0; i < entropyBytes; i++) entropy[i] = (i * 37) & 0xff;
  // Stuff every FF as the encoder must (T.81 F.1.2.3).
  const stuffed: number[] = [];
  for (const b of entropy) {
    if (b === 0xff) stuffed.push(0xff, 0x00);
    else stuffed.push(b);
  }
  return Buffer.concat([
    Buffer.from([0xff, 0xd8]),
    seg(0xfe, Buffer.from(comment)),
    seg(0xda, Buffer.from([1, 1, 0, 0, 0x3f, 0])),
    Buffer.from(stuffed),
    Buffer.from([0xff, 0xd9]),
  ]);
}

function split(stream: Buffer, chunkSize: number, maxFrameBytes?: number): { frames: Buffer[]; splitter: JpegSplitter } {
  const frames: Buffer[] = [];
  const splitter = new JpegSplitter((f) => frames.push(f), maxFrameBytes === undefined ? {} : { maxFrameBytes });
  for (let i = 0; i < stream.length; i += chunkSize) splitter.push(stream.subarray(i, i + chunkSize));
  return { frames, splitter };
}

t.test('real JPEGs back to back come out whole, whatever the chunk boundaries', async (t) => {
  const stream = Buffer.concat(FRAMES);
  for (const size of [1, 2, 3, 7, 100, 4096, stream.length]) {
    const { frames, splitter } = split(stream, size);
    t.equal(frames.length, FRAMES.length, `chunk size ${size}: frame count`);
    t.ok(frames.every((f, i) => f.equals(FRAMES[i]!)), `chunk size ${size}: identical bytes`);
    t.match(splitter.stats, { frames: FRAMES.length, oversized: 0, corrupt: 0, skippedBytes: 0 });
  }
});

t.test('a frame is a copy, not a view of the producer chunk', async (t) => {
  const chunk = Buffer.from(FRAMES[0]!);
  const { frames } = split(chunk, chunk.length);
  chunk.fill(0);
  t.ok(frames[0]!.equals(FRAMES[0]!));
  const small = synthetic(20);
  const { frames: smallFrames } = split(small, 5);
  t.equal(smallFrames[0]!.buffer.byteLength, small.length, 'even a small frame owns its ArrayBuffer (transferable)');
});

t.test('garbage before SOI (including FF, FF D9 and an FF at a chunk end) is skipped and counted', async (t) => {
  const garbage = Buffer.from([0x00, 0xff, 0xd9, 0xff, 0xff, 0x12, 0xff]);
  const stream = Buffer.concat([garbage, FRAMES[0]!, garbage, FRAMES[1]!]);
  for (const size of [1, 7, 8, stream.length]) {
    const { frames, splitter } = split(stream, size);
    t.equal(frames.length, 2, `chunk size ${size}`);
    t.ok(frames[0]!.equals(FRAMES[0]!) && frames[1]!.equals(FRAMES[1]!));
    t.equal(splitter.stats.skippedBytes, garbage.length * 2, `chunk size ${size}: skipped bytes`);
  }
});

t.test('SOI, EOI and a stuffed FF 00 split across chunks', async (t) => {
  const frame = synthetic(600);
  const stuffedAt = frame.indexOf(Buffer.from([0xff, 0x00]));
  t.ok(stuffedAt > 0, 'the fixture has a stuffed FF');
  const cuts = [1, stuffedAt + 1, frame.length - 1];
  const frames: Buffer[] = [];
  const splitter = new JpegSplitter((f) => frames.push(f));
  let prev = 0;
  for (const cut of [...cuts, frame.length]) {
    splitter.push(frame.subarray(prev, cut));
    prev = cut;
  }
  t.equal(frames.length, 1);
  t.ok(frames[0]!.equals(frame));
});

t.test('an EXIF thumbnail (a whole JPEG inside APP1) does not end the frame early', async (t) => {
  const thumb = FRAMES[1]!;
  const main = FRAMES[0]!;
  const app1 = seg(0xe1, Buffer.concat([Buffer.from('Exif\0\0'), thumb]));
  const withThumb = Buffer.concat([main.subarray(0, 2), app1, main.subarray(2)]);
  for (const size of [1, 13, withThumb.length]) {
    const { frames } = split(Buffer.concat([withThumb, FRAMES[2]!]), size);
    t.equal(frames.length, 2, `chunk size ${size}`);
    t.ok(frames[0]!.equals(withThumb), 'the outer image, thumbnail included');
    t.ok(frames[1]!.equals(FRAMES[2]!), 'then the next frame');
  }
});

t.test('stray FF D8 / FF D9 pairs in a segment payload are skipped (why we parse segments)', async (t) => {
  const noisy = synthetic(300);
  const payload = Buffer.from([0x41, 0xff, 0xd9, 0xff, 0xd8, 0xff, 0xd9, 0x42]);
  const frame = Buffer.concat([Buffer.from([0xff, 0xd8]), seg(0xfe, payload), noisy.subarray(2)]);
  const { frames } = split(Buffer.concat([frame, FRAMES[0]!]), 5);
  t.equal(frames.length, 2);
  t.ok(frames[0]!.equals(frame));
});

t.test('restart markers, fill bytes and a progressive image with DHT between scans', async (t) => {
  const sos = seg(0xda, Buffer.from([1, 1, 0, 0, 0x3f, 0]));
  const frame = Buffer.concat([
    Buffer.from([0xff, 0xd8]),
    Buffer.from([0xff, 0xff]), // fill bytes before a marker (T.81 B.1.1.2)
    seg(0xc2, Buffer.from([8, 0, 16, 0, 16, 1, 1, 0x11, 0])),
    sos,
    Buffer.from([0x12, 0xff, 0x00, 0x34, 0xff, 0xd0, 0x56, 0xff, 0xd7, 0x78]), // stuffed FF, RST0, RST7
    seg(0xc4, Buffer.from([0x00, ...Buffer.alloc(16, 0)])), // DHT between scans
    sos,
    Buffer.from([0x9a, 0xff, 0xff, 0xd9]), // fill byte, then EOI
  ]);
  const { frames, splitter } = split(frame, 1);
  t.equal(frames.length, 1);
  t.ok(frames[0]!.equals(frame));
  t.equal(splitter.stats.corrupt, 0);
});

t.test('a frame over maxFrameBytes is dropped and counted; the next one still arrives', async (t) => {
  const big = synthetic(10_000);
  const small = synthetic(500);
  for (const size of [1, 64, 4096]) {
    const { frames, splitter } = split(Buffer.concat([big, small]), size, 2048);
    t.equal(frames.length, 1, `chunk size ${size}`);
    t.ok(frames[0]!.equals(small));
    t.equal(splitter.stats.oversized, 1);
  }
});

t.test('an SOI with no end (a stream of entropy data) is dropped, not buffered forever', async (t) => {
  const frames: Buffer[] = [];
  const splitter = new JpegSplitter((f) => frames.push(f), { maxFrameBytes: 64 * 1024 });
  const head = synthetic(10).subarray(0, -2); // no EOI
  splitter.push(head);
  const noise = Buffer.alloc(16 * 1024, 0x5a);
  for (let i = 0; i < 64; i++) splitter.push(noise); // 1 MiB, 16x the bound
  t.equal(splitter.stats.oversized, 1, 'dropped once at the bound, then skipping');
  t.ok(splitter.stats.skippedBytes > 900 * 1024, 'the rest was skipped, not kept');
  splitter.push(FRAMES[0]!);
  t.equal(frames.length, 1);
  t.ok(frames[0]!.equals(FRAMES[0]!));
});

t.test('an encoder restart mid-frame (a new SOI) drops the partial frame as corrupt and resyncs', async (t) => {
  const partial = FRAMES[0]!.subarray(0, 3000);
  const { frames, splitter } = split(Buffer.concat([partial, FRAMES[1]!]), 333);
  t.equal(frames.length, 1);
  t.ok(frames[0]!.equals(FRAMES[1]!));
  t.equal(splitter.stats.corrupt, 1);
});

t.test('a bad segment length or a missing marker drops the frame as corrupt', async (t) => {
  const badLength = Buffer.from([0xff, 0xd8, 0xff, 0xfe, 0x00, 0x01]);
  const noMarker = Buffer.from([0xff, 0xd8, 0x12, 0x34]);
  const { frames, splitter } = split(Buffer.concat([badLength, noMarker, FRAMES[0]!]), 3);
  t.equal(frames.length, 1);
  t.ok(frames[0]!.equals(FRAMES[0]!));
  t.equal(splitter.stats.corrupt, 2);
});

t.test('reset forgets a partial frame', async (t) => {
  const frames: Buffer[] = [];
  const splitter = new JpegSplitter((f) => frames.push(f));
  splitter.push(FRAMES[0]!.subarray(0, 1000));
  splitter.reset();
  splitter.push(FRAMES[0]!.subarray(1000));
  splitter.push(FRAMES[1]!);
  t.equal(frames.length, 1);
  t.ok(frames[0]!.equals(FRAMES[1]!));
});
