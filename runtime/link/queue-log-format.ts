/**
 * The on-disk format of the outbound queue (outbound-queue.ts): an append-only log of frames.
 *
 *   frame   = u32 LE bodyLength | u32 LE crc32(body) | body
 *   body    = PUT:    u8 3 | u48 LE seq | u48 LE at | u8 flags (bit0 retain, bit1 correlation data follows)
 *                     | u16 LE topicLength | topic (UTF-8) | [u16 LE corrLength | corr] | payload (the rest)
 *           | REMOVE: u8 2 | u48 LE seq, repeated (acked, expired, or dropped on overflow)
 *
 * `at` is when the message was queued (ms since the Unix epoch, the daemon's clock): `mqtt.queue.ttlMs` ages it
 * across restarts. Files written before it existed hold PUT records of type 1 (the same body without `at`); they
 * are still read, and their messages count as queued when the file is opened (the only age we can vouch for).
 *
 * Why binary and not JSON lines: payloads are arbitrary bytes (base64 would add a third to every byte written to
 * an SD card), and the length + CRC make a torn or garbled record detectable without guessing where text ends.
 * Coalescing needs no record of its own: replaying the PUTs applies the same "latest value per state topic" rule.
 *
 * Versions (a board rolled back after an update reads what the newer version wrote): a frame whose CRC holds but
 * whose type this version does not know is a newer version's record, not damage — it is returned as a ForeignRecord
 * and the queue keeps it as it is (outbound-queue.ts), instead of cutting the file there and losing every record
 * after it. So that a version can keep its sequence numbers apart from records it cannot read, **every record type,
 * present or future, begins with `u8 type | u48 LE seq`** (REMOVE: its first seq). Type 0 is never valid.
 */
export const FRAME_HEADER = 8;
/** A PUT without `at` (queue files written before mqtt.queue.ttlMs): read, never written. */
const PUT_V1 = 1;
const REMOVE = 2;
const PUT = 3;
const SEQ_BYTES = 6;
/** No single record may claim more than this: a garbled length field must not make the reader allocate gigabytes. */
export const MAX_FRAME_BODY = 512 * 2 ** 20;

export interface PutRecord {
  kind: 'put';
  seq: number;
  topic: string;
  payload: Buffer;
  retain: boolean;
  correlationData?: Buffer;
  /** When it was queued (ms since the epoch); undefined in a type-1 record. */
  at?: number;
}
export interface RemoveRecord {
  kind: 'remove';
  seqs: number[];
}
/** A record of a type this version does not know (see the header): kept verbatim, never interpreted. */
export interface ForeignRecord {
  kind: 'foreign';
  type: number;
  /** Its sequence number (every record type starts with one). */
  seq: number;
  /** The whole frame, header included, as read: what is written back. */
  frame: Buffer;
}
export type LogRecord = PutRecord | RemoveRecord | ForeignRecord;

const crcTable = (() => {
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
})();

/**
 * CRC-32 (IEEE 802.3, zlib's): table-driven, in JavaScript. zlib.crc32 (Node >= 20.15) would be native, but importing
 * node:zlib for it kept zlib's JavaScript and binding in every daemon's memory (~0.2-0.3 MB of idle RSS, issue 12);
 * a queue record is a few hundred bytes, which this loop checks in well under a microsecond.
 */
export function crc32(data: Uint8Array): number {
  let c = -1;
  for (let i = 0; i < data.length; i++) c = (crcTable[(c ^ (data[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

function frame(body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER + body.length);
  out.writeUInt32LE(body.length, 0);
  out.writeUInt32LE(crc32(body), 4);
  body.copy(out, FRAME_HEADER);
  return out;
}

/** Bytes of a PUT frame, header included, from the topic's UTF-8 length. */
export function putFrameBytes(topicBytes: number, payloadBytes: number, correlationBytes: number | undefined): number {
  return FRAME_HEADER + 1 + SEQ_BYTES + SEQ_BYTES + 1 + 2 + topicBytes + (correlationBytes === undefined ? 0 : 2 + correlationBytes) + payloadBytes;
}

/** Bytes of a PUT frame, header included. */
export function putFrameLength(r: Omit<PutRecord, 'kind' | 'seq' | 'retain'>): number {
  return putFrameBytes(Buffer.byteLength(r.topic, 'utf8'), r.payload.length, r.correlationData?.length);
}

export function encodePut(r: Omit<PutRecord, 'kind'>): Buffer {
  const out = Buffer.allocUnsafe(putFrameLength(r));
  encodePutInto(r, out, 0);
  return out;
}

/**
 * Writes the PUT frame into `out` at `at` (which must have putFrameLength bytes) and returns the offset after it:
 * one buffer for a whole compaction, no buffer per record.
 */
export function encodePutInto(r: Omit<PutRecord, 'kind'>, out: Buffer, at: number): number {
  const corr = r.correlationData;
  const start = at + FRAME_HEADER;
  let o = out.writeUInt8(PUT, start);
  o = out.writeUIntLE(r.seq, o, SEQ_BYTES);
  // A clock before the epoch or past 2^48 ms (year 10889) cannot be stored: clamped, it only ages the message.
  o = out.writeUIntLE(Math.min(Math.max(0, Math.floor(r.at ?? 0)), 2 ** 48 - 1), o, SEQ_BYTES);
  o = out.writeUInt8((r.retain ? 1 : 0) | (corr ? 2 : 0), o);
  const topicLength = out.write(r.topic, o + 2, 'utf8');
  o = out.writeUInt16LE(topicLength, o) + topicLength;
  if (corr) {
    o = out.writeUInt16LE(corr.length, o);
    o += corr.copy(out, o);
  }
  o += r.payload.copy(out, o);
  out.writeUInt32LE(o - start, at);
  out.writeUInt32LE(crc32(out.subarray(start, o)), at + 4);
  return o;
}

export function encodeRemove(seqs: readonly number[]): Buffer {
  const body = Buffer.allocUnsafe(1 + SEQ_BYTES * seqs.length);
  body.writeUInt8(REMOVE, 0);
  seqs.forEach((s, i) => body.writeUIntLE(s, 1 + i * SEQ_BYTES, SEQ_BYTES));
  return frame(body);
}

/** Record types this version reads; a higher one is a newer version's (ForeignRecord). */
const HIGHEST_KNOWN_TYPE = PUT;

function decodeBody(body: Buffer): PutRecord | RemoveRecord | Omit<ForeignRecord, 'frame'> | undefined {
  const type = body[0] as number;
  if (type > HIGHEST_KNOWN_TYPE) return body.length >= 1 + SEQ_BYTES ? { kind: 'foreign', type, seq: body.readUIntLE(1, SEQ_BYTES) } : undefined;
  if (type === REMOVE) {
    if ((body.length - 1) % SEQ_BYTES !== 0 || body.length === 1) return undefined;
    const seqs: number[] = [];
    for (let o = 1; o < body.length; o += SEQ_BYTES) seqs.push(body.readUIntLE(o, SEQ_BYTES));
    return { kind: 'remove', seqs };
  }
  const timed = type === PUT;
  if ((!timed && type !== PUT_V1) || body.length < 1 + SEQ_BYTES * (timed ? 2 : 1) + 3) return undefined;
  let o = 1;
  const seq = body.readUIntLE(o, SEQ_BYTES);
  o += SEQ_BYTES;
  const at = timed ? body.readUIntLE(o, SEQ_BYTES) : undefined;
  if (timed) o += SEQ_BYTES;
  const flags = body.readUInt8(o++);
  const topicLength = body.readUInt16LE(o);
  o += 2;
  if (o + topicLength > body.length) return undefined;
  const topic = body.toString('utf8', o, o + topicLength);
  o += topicLength;
  let correlationData: Buffer | undefined;
  if (flags & 2) {
    if (o + 2 > body.length) return undefined;
    const n = body.readUInt16LE(o);
    o += 2;
    if (o + n > body.length) return undefined;
    correlationData = Buffer.from(body.subarray(o, o + n));
    o += n;
  }
  // A copy: the record outlives the file buffer it was read from, which may be megabytes.
  const record: PutRecord = { kind: 'put', seq, topic, payload: Buffer.from(body.subarray(o)), retain: (flags & 1) === 1 };
  if (correlationData) record.correlationData = correlationData;
  if (at !== undefined) record.at = at;
  return record;
}

export interface DecodeResult {
  records: LogRecord[];
  /** Bytes of the file that hold whole, valid frames; everything after is a torn or garbled tail. */
  goodBytes: number;
}

/**
 * Reads frames until the first that is incomplete (a torn append at a power cut), fails its CRC (garbled media) or
 * does not decode (a known type with a malformed body); a frame of an unknown, higher type is returned as foreign.
 * Appends are sequential, so a power cut can only damage the tail; a bad frame in the middle means the card itself
 * is failing, and the frames after it are dropped with it rather than trusted.
 */
export function decodeLog(data: Buffer): DecodeResult {
  const records: LogRecord[] = [];
  let o = 0;
  while (o + FRAME_HEADER <= data.length) {
    const length = data.readUInt32LE(o);
    if (length === 0 || length > MAX_FRAME_BODY || o + FRAME_HEADER + length > data.length) break;
    const body = data.subarray(o + FRAME_HEADER, o + FRAME_HEADER + length);
    if (crc32(body) !== data.readUInt32LE(o + 4)) break;
    const record = decodeBody(body);
    if (!record) break;
    // A copy: the record outlives the file buffer it was read from.
    records.push(record.kind === 'foreign' ? { ...record, frame: Buffer.from(data.subarray(o, o + FRAME_HEADER + length)) } : record);
    o += FRAME_HEADER + length;
  }
  return { records, goodBytes: o };
}
