/**
 * The small web-platform subset the pure core and agents rely on, which QuickJS does not have: structuredClone
 * (AgentCore log fields, InternalBus snapshots), EventTarget/Event/AbortController/AbortSignal (ctx.signal),
 * DOMException, TextEncoder/TextDecoder (UTF-8 only: serial lines, NMEA). Only installed where missing.
 */
type Listener = ((event: EventLite) => void) | { handleEvent(event: EventLite): void };

class EventLite {
  readonly type: string;
  target: unknown = null;
  defaultPrevented = false;
  constructor(type: string) {
    this.type = String(type);
  }
  preventDefault(): void {
    this.defaultPrevented = true;
  }
}

class EventTargetLite {
  readonly #listeners = new Map<string, { listener: Listener; once: boolean }[]>();
  addEventListener(type: string, listener: Listener | null, options?: boolean | { once?: boolean; signal?: AbortSignalLite }): void {
    if (!listener) return;
    const list = this.#listeners.get(type) ?? [];
    if (list.some((l) => l.listener === listener)) return;
    const once = typeof options === 'object' && options?.once === true;
    list.push({ listener, once });
    this.#listeners.set(type, list);
    if (typeof options === 'object' && options?.signal) options.signal.addEventListener('abort', () => this.removeEventListener(type, listener), { once: true });
  }
  removeEventListener(type: string, listener: Listener | null): void {
    const list = this.#listeners.get(type);
    if (list) this.#listeners.set(type, list.filter((l) => l.listener !== listener));
  }
  dispatchEvent(event: EventLite): boolean {
    event.target = this;
    const handler = (this as unknown as Record<string, unknown>)[`on${event.type}`];
    if (typeof handler === 'function') handler.call(this, event);
    for (const entry of [...(this.#listeners.get(event.type) ?? [])]) {
      if (entry.once) this.removeEventListener(event.type, entry.listener);
      if (typeof entry.listener === 'function') entry.listener.call(this, event);
      else entry.listener.handleEvent(event);
    }
    return !event.defaultPrevented;
  }
}

class DOMExceptionLite extends Error {
  constructor(message = '', name = 'Error') {
    super(message);
    Object.defineProperty(this, 'name', { value: name, configurable: true, writable: true });
  }
}

class AbortSignalLite extends EventTargetLite {
  aborted = false;
  reason: unknown = undefined;
  onabort: ((event: EventLite) => void) | null = null;
  throwIfAborted(): void {
    if (this.aborted) throw this.reason;
  }
  static abort(reason?: unknown): AbortSignalLite {
    const c = new AbortControllerLite();
    c.abort(reason);
    return c.signal;
  }
}

class AbortControllerLite {
  readonly signal = new AbortSignalLite();
  abort(reason?: unknown): void {
    if (this.signal.aborted) return;
    this.signal.aborted = true;
    this.signal.reason = reason === undefined ? new DOMExceptionLite('This operation was aborted', 'AbortError') : reason;
    this.signal.dispatchEvent(new EventLite('abort'));
  }
}

function cloneValue(value: unknown, seen: Map<object, unknown>): unknown {
  if (typeof value === 'function' || typeof value === 'symbol') throw new DOMExceptionLite(`${safeTypeName(value)} could not be cloned.`, 'DataCloneError');
  if (typeof value !== 'object' || value === null) return value;
  const known = seen.get(value);
  if (known !== undefined) return known;
  if (value instanceof ArrayBuffer) return remember(seen, value, value.slice(0));
  if (ArrayBuffer.isView(value)) {
    const Ctor = value.constructor as new (b: ArrayBuffer) => ArrayBufferView;
    return remember(seen, value, new Ctor(new Uint8Array(value.buffer, value.byteOffset, value.byteLength).slice().buffer));
  }
  if (value instanceof Date) return remember(seen, value, new Date(value.getTime()));
  if (value instanceof RegExp) return remember(seen, value, new RegExp(value.source, value.flags));
  if (value instanceof Map) {
    const out = remember(seen, value, new Map());
    for (const [k, v] of value) out.set(cloneValue(k, seen), cloneValue(v, seen));
    return out;
  }
  if (value instanceof Set) {
    const out = remember(seen, value, new Set());
    for (const v of value) out.add(cloneValue(v, seen));
    return out;
  }
  if (value instanceof Error) {
    const out = remember(seen, value, new Error(value.message));
    out.name = value.name;
    return out;
  }
  if (Array.isArray(value)) {
    const out = remember(seen, value, [] as unknown[]);
    for (const v of value) out.push(cloneValue(v, seen));
    return out;
  }
  const out = remember(seen, value, {} as Record<string, unknown>);
  for (const [k, v] of Object.entries(value)) out[k] = cloneValue(v, seen);
  return out;
}

function remember<T>(seen: Map<object, unknown>, from: object, to: T): T {
  seen.set(from, to);
  return to;
}

function safeTypeName(value: unknown): string {
  return typeof value === 'function' ? `function ${(value as { name?: string }).name ?? ''}` : 'Symbol';
}

class TextEncoderLite {
  readonly encoding = 'utf-8';
  encode(input = ''): Uint8Array {
    const s = String(input);
    const out: number[] = [];
    for (let i = 0; i < s.length; i++) {
      let c = s.codePointAt(i) as number;
      if (c > 0xffff) i++;
      else if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd; // lone surrogate
      if (c < 0x80) out.push(c);
      else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
      else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
      else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    }
    return new Uint8Array(out);
  }
}

class TextDecoderLite {
  readonly encoding = 'utf-8';
  #pending: number[] = [];
  constructor(label = 'utf-8') {
    if (!/^utf-?8$/i.test(label)) throw new RangeError(`TextDecoder: only utf-8 is available in the wasm isolate, not "${label}"`);
  }
  decode(input?: ArrayBuffer | ArrayBufferView, options?: { stream?: boolean }): string {
    const incoming = input === undefined ? new Uint8Array(0) : input instanceof ArrayBuffer ? new Uint8Array(input) : new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    const bytes = this.#pending.length > 0 ? [...this.#pending, ...incoming] : incoming;
    this.#pending = [];
    let out = '';
    let i = 0;
    while (i < bytes.length) {
      const b = bytes[i] as number;
      const need = b < 0x80 ? 0 : b >= 0xf0 && b < 0xf8 ? 3 : b >= 0xe0 ? 2 : b >= 0xc0 ? 1 : -1;
      if (need < 0) {
        out += '\ufffd';
        i++;
        continue;
      }
      if (need > 0 && i + need >= bytes.length && options?.stream) {
        // An incomplete sequence at the end of a chunk: keep it for the next decode(…, { stream: true }).
        this.#pending = Array.from(bytes).slice(i);
        break;
      }
      let c = need === 0 ? b : b & (0x3f >> need);
      let ok = true;
      for (let k = 1; k <= need; k++) {
        const n = bytes[i + k];
        if (n === undefined || (n & 0xc0) !== 0x80) {
          ok = false;
          break;
        }
        c = (c << 6) | (n & 63);
      }
      if (!ok) {
        out += '\ufffd';
        i++;
        continue;
      }
      out += String.fromCodePoint(c);
      i += need + 1;
    }
    return out;
  }
}

const g = globalThis as Record<string, unknown>;
const install = (name: string, value: unknown) => {
  if (g[name] === undefined) g[name] = value;
};
install('Event', EventLite);
install('EventTarget', EventTargetLite);
install('DOMException', DOMExceptionLite);
install('AbortSignal', AbortSignalLite);
install('AbortController', AbortControllerLite);
install('structuredClone', (value: unknown) => cloneValue(value, new Map()));
install('TextEncoder', TextEncoderLite);
install('TextDecoder', TextDecoderLite);
