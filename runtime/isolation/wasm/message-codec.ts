/**
 * How channel messages cross the QuickJS boundary: JSON text plus a side list of ArrayBuffers (camera frames,
 * serial chunks), so a frame is one memcpy into or out of the WASM heap rather than a JSON array of numbers.
 * Pure (no node:*): the same file runs in the worker that hosts the VM and, bundled, inside QuickJS.
 *
 * What survives: JSON values, ArrayBuffer, and typed-array views (as a copy of the viewed bytes). What does not
 * (unlike structured clone): undefined inside arrays (-> null), Map, Set, Date (-> ISO string), NaN/Infinity (-> null).
 * Channel messages are JSON-shaped by design, so nothing the core or the HAL sends is affected.
 */
const BUFFER_KEY = '\u0000openstarry:buffer';
const VIEW_KEY = '\u0000openstarry:view';

type ViewName = 'Uint8Array' | 'Int8Array' | 'Uint8ClampedArray' | 'Uint16Array' | 'Int16Array' | 'Uint32Array' | 'Int32Array' | 'Float32Array' | 'Float64Array';
const VIEWS: Record<ViewName, new (buffer: ArrayBuffer) => ArrayBufferView> = {
  Uint8Array,
  Int8Array,
  Uint8ClampedArray,
  Uint16Array,
  Int16Array,
  Uint32Array,
  Int32Array,
  Float32Array,
  Float64Array,
};

export interface EncodedMessage {
  json: string;
  buffers: ArrayBuffer[];
}

export function encodeMessage(value: unknown): EncodedMessage {
  const buffers: ArrayBuffer[] = [];
  const json = JSON.stringify(value, (_key, v: unknown) => {
    if (v instanceof ArrayBuffer) {
      buffers.push(v);
      return { [BUFFER_KEY]: buffers.length - 1 };
    }
    if (ArrayBuffer.isView(v)) {
      const bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength).slice();
      buffers.push(bytes.buffer);
      const name = v.constructor.name;
      return { [BUFFER_KEY]: buffers.length - 1, [VIEW_KEY]: name in VIEWS ? name : 'Uint8Array' };
    }
    return v;
  });
  return { json: json ?? 'null', buffers };
}

export function decodeMessage(json: string, buffers: readonly ArrayBuffer[]): unknown {
  if (buffers.length === 0) return JSON.parse(json);
  return JSON.parse(json, (_key, v: unknown) => {
    if (typeof v !== 'object' || v === null || !Object.hasOwn(v, BUFFER_KEY)) return v;
    const ref = v as Record<string, unknown>;
    // Own entries only: the agent writes this JSON, and `"length"` or a view named `"valueOf"` must not reach a
    // prototype member (a TypeError thrown at the host, or a number where a buffer belongs).
    const index = ref[BUFFER_KEY];
    const buffer = typeof index === 'number' && Number.isInteger(index) && index >= 0 ? buffers[index] : undefined;
    if (buffer === undefined) return null;
    const view = ref[VIEW_KEY];
    return typeof view === 'string' && Object.hasOwn(VIEWS, view) ? new VIEWS[view as ViewName](buffer) : buffer;
  });
}
