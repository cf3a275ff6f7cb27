/**
 * Framing of the channel (docs/ARCHITECTURE.md "The isolate channel") over a byte stream — the Unix socket the docker driver mounts into
 * each container. A MessagePort clones ArrayBuffers for free; a socket carries bytes, so each frame is
 *
 *   u32 BE  header length H
 *   u32 BE  body length B
 *   H bytes header: UTF-8 JSON { m: <message with every buffer replaced by null>, b?: [[path, kind, length], ...] }
 *   B bytes body: the buffers' bytes, one after the other, in the order of `b`
 *
 * Buffers travel raw (a camera frame is not base64-inflated) and are put back at their paths on decode, as an
 * ArrayBuffer or a Uint8Array like the sender had. Paths, not in-band markers, so no agent data can be mistaken
 * for a buffer. The decoder is the daemon's trust boundary for a container: frames over `maxFrameBytes`, a header
 * that is not JSON, or a path that does not fit the message throw FrameError and the caller drops the connection.
 */

export const DEFAULT_MAX_FRAME_BYTES = 32 * 1024 * 1024;
const PREFIX_BYTES = 8;
/** Property names a path may never set: they would reach the prototype instead of the decoded object. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export class FrameError extends Error {
  override readonly name = 'FrameError';
}

/** A frame whose prefix announces more than the decoder's limit: refused before any of it is buffered. */
export class FrameTooLargeError extends FrameError {
  constructor(
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(`frame of ${bytes} bytes is over the ${limit}-byte limit`);
  }
}

type PathKey = string | number;
type BufferKind = 'ab' | 'u8';
type BufferEntry = [path: PathKey[], kind: BufferKind, length: number];

interface FrameHeader {
  m: unknown;
  b?: BufferEntry[];
}

/** Encodes one message; returns the chunks to write (prefix+header, then each buffer, uncopied). */
export function encodeFrame(message: unknown): Buffer[] {
  const entries: BufferEntry[] = [];
  const parts: Uint8Array[] = [];
  const m = extractBuffers(message, [], entries, parts, new Set());
  const header = Buffer.from(JSON.stringify(entries.length > 0 ? { m, b: entries } : { m }), 'utf8');
  let body = 0;
  for (const p of parts) body += p.byteLength;
  const prefix = Buffer.allocUnsafe(PREFIX_BYTES + header.byteLength);
  prefix.writeUInt32BE(header.byteLength, 0);
  prefix.writeUInt32BE(body, 4);
  header.copy(prefix, PREFIX_BYTES);
  return [prefix, ...parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength))];
}

function extractBuffers(value: unknown, path: PathKey[], entries: BufferEntry[], parts: Uint8Array[], seen: Set<object>): unknown {
  if (value instanceof ArrayBuffer) {
    entries.push([path, 'ab', value.byteLength]);
    parts.push(new Uint8Array(value));
    return null;
  }
  if (ArrayBuffer.isView(value)) {
    // Any view travels as its bytes and comes out as a Uint8Array (the channel's binary payloads are bytes).
    entries.push([path, 'u8', value.byteLength]);
    parts.push(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
    return null;
  }
  if (typeof value !== 'object' || value === null) return value;
  if (seen.has(value)) throw new FrameError('cannot frame a message with a cycle');
  seen.add(value);
  let out: unknown;
  if (Array.isArray(value)) {
    out = value.map((v, i) => extractBuffers(v, [...path, i], entries, parts, seen));
  } else if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    out = value; // Date & co: JSON.stringify handles them
  } else {
    // fromEntries defines own properties: `o[k] = v` with k "__proto__" would set the prototype and drop the key.
    out = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, extractBuffers(v, [...path, k], entries, parts, seen)]));
  }
  seen.delete(value);
  return out;
}

/**
 * Accumulates stream chunks and yields whole messages. Keeps the chunks as they came until a frame is complete,
 * so a large frame arriving in many reads is copied once, not once per read.
 */
export class FrameDecoder {
  readonly #maxFrameBytes: number;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #need: { header: number; body: number } | undefined;

  constructor(options: { maxFrameBytes?: number } = {}) {
    this.#maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  }

  /** Bytes received but not yet part of a whole frame. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Feeds a chunk; returns the messages it completed. Throws FrameError on a bad frame (then drop the stream). */
  push(chunk: Buffer): unknown[] {
    this.#chunks.push(chunk);
    this.#buffered += chunk.byteLength;
    const out: unknown[] = [];
    for (;;) {
      if (!this.#need) {
        if (this.#buffered < PREFIX_BYTES) return out;
        const prefix = this.#take(PREFIX_BYTES);
        const header = prefix.readUInt32BE(0);
        const body = prefix.readUInt32BE(4);
        // Checked before waiting for the bytes: a peer cannot make us buffer a frame we would refuse anyway.
        if (header === 0) throw new FrameError('empty frame header');
        if (header + body > this.#maxFrameBytes) throw new FrameTooLargeError(header + body, this.#maxFrameBytes);
        this.#need = { header, body };
      }
      const { header, body } = this.#need;
      if (this.#buffered < header + body) return out;
      this.#need = undefined;
      out.push(decodeFrame(this.#take(header), this.#take(body)));
    }
  }

  #take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const first = this.#chunks[0];
    let result: Buffer;
    if (first && first.byteLength >= n) {
      result = first.subarray(0, n);
      if (first.byteLength === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
    } else {
      result = Buffer.allocUnsafe(n);
      let filled = 0;
      while (filled < n) {
        const c = this.#chunks[0];
        if (!c) throw new FrameError('internal: frame decoder ran out of bytes');
        const k = Math.min(c.byteLength, n - filled);
        c.copy(result, filled, 0, k);
        filled += k;
        if (k === c.byteLength) this.#chunks.shift();
        else this.#chunks[0] = c.subarray(k);
      }
    }
    this.#buffered -= n;
    return result;
  }
}

function decodeFrame(headerBytes: Buffer, body: Buffer): unknown {
  let header: FrameHeader;
  try {
    header = JSON.parse(headerBytes.toString('utf8')) as FrameHeader;
  } catch {
    throw new FrameError('frame header is not JSON');
  }
  if (typeof header !== 'object' || header === null || !('m' in header)) throw new FrameError('frame header has no message');
  const entries = header.b ?? [];
  if (!Array.isArray(entries)) throw new FrameError('frame buffer list is not an array');
  let offset = 0;
  let message = header.m;
  for (const entry of entries) {
    if (!Array.isArray(entry) || entry.length !== 3) throw new FrameError('bad buffer entry');
    const [path, kind, length] = entry as unknown[];
    if (!Array.isArray(path) || (kind !== 'ab' && kind !== 'u8') || typeof length !== 'number' || !Number.isInteger(length) || length < 0) throw new FrameError('bad buffer entry');
    if (offset + length > body.byteLength) throw new FrameError('buffer entries exceed the frame body');
    // Copied out of the stream's chunk: the receiver owns the buffer, like a transferred one.
    const bytes = new Uint8Array(length);
    bytes.set(body.subarray(offset, offset + length));
    offset += length;
    message = setAtPath(message, path, kind === 'ab' ? bytes.buffer : bytes);
  }
  if (offset !== body.byteLength) throw new FrameError('frame body has bytes no buffer entry claims');
  return message;
}

function setAtPath(root: unknown, path: unknown[], value: unknown): unknown {
  if (path.length === 0) return value;
  let node = root;
  for (let i = 0; i < path.length; i++) {
    const key = path[i];
    if (typeof key !== 'string' && typeof key !== 'number') throw new FrameError('bad buffer path');
    if (typeof key === 'string' && FORBIDDEN_KEYS.has(key)) throw new FrameError('forbidden key in buffer path');
    if (typeof node !== 'object' || node === null) throw new FrameError('buffer path does not fit the message');
    const container = node as Record<PathKey, unknown>;
    if (!Object.prototype.hasOwnProperty.call(container, key)) throw new FrameError('buffer path does not fit the message');
    if (i === path.length - 1) container[key] = value;
    else node = container[key];
  }
  return root;
}
