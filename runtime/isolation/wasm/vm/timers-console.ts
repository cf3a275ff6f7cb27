/**
 * Timers, queueMicrotask and console inside QuickJS, which has none of them: callbacks live here, the host only
 * holds a timer id and a Node timer (../vm-timers.ts), and calls back in when it fires. All of them end with the
 * agent: the host clears its timers when the VM ends.
 *
 * Like Node: a throw in a timer callback or a microtask ends the agent as an uncaught error; so does a rejected
 * promise returned by a timer callback (QuickJS exposes no unhandled-rejection tracker through quickjs-emscripten,
 * so rejections elsewhere that nobody handles are lost; see README of this folder).
 */
import { describeError, host, safeString } from './host-api.ts';

type Callback = (...args: unknown[]) => unknown;

interface TimerEntry {
  fn: Callback;
  args: unknown[];
  interval: number | undefined;
  ref: boolean;
  ms: number;
}

const timers = new Map<number, TimerEntry>();
let nextTimerId = 1;

function reportUncaught(err: unknown): void {
  host.uncaught(describeError(err));
}

function checkPromise(result: unknown): void {
  if (typeof result === 'object' && result !== null && typeof (result as { then?: unknown }).then === 'function') {
    (result as PromiseLike<unknown>).then(undefined, reportUncaught);
  }
}

host.onTimer((id) => {
  const entry = timers.get(id);
  if (!entry) return;
  if (entry.interval === undefined) timers.delete(id);
  else host.setTimer(id, entry.interval, entry.ref);
  checkPromise(entry.fn(...entry.args));
});

/** What Node's setTimeout returns, enough of it: clear*, ref/unref/hasRef/refresh, and a numeric primitive. */
class Timeout {
  readonly #id: number;
  constructor(id: number) {
    this.#id = id;
  }
  ref(): this {
    const e = timers.get(this.#id);
    if (e && !e.ref) {
      e.ref = true;
      host.setTimer(this.#id, e.interval ?? e.ms, true);
    }
    return this;
  }
  unref(): this {
    const e = timers.get(this.#id);
    if (e && e.ref) {
      e.ref = false;
      host.setTimer(this.#id, e.interval ?? e.ms, false);
    }
    return this;
  }
  hasRef(): boolean {
    return timers.get(this.#id)?.ref ?? false;
  }
  refresh(): this {
    const e = timers.get(this.#id);
    if (e) host.setTimer(this.#id, e.interval ?? e.ms, e.ref);
    return this;
  }
  [Symbol.toPrimitive](): number {
    return this.#id;
  }
}

function toDelay(ms: unknown): number {
  const n = Number(ms);
  return Number.isFinite(n) && n >= 1 ? Math.min(Math.floor(n), 2 ** 31 - 1) : 1;
}

function arm(fn: unknown, ms: unknown, args: unknown[], repeat: boolean): Timeout {
  if (typeof fn !== 'function') throw new TypeError('The "callback" argument must be of type function');
  const id = nextTimerId++;
  const delay = toDelay(ms);
  timers.set(id, { fn: fn as Callback, args, interval: repeat ? delay : undefined, ref: true, ms: delay });
  host.setTimer(id, delay, true);
  return new Timeout(id);
}

function clear(handle: unknown): void {
  const id = typeof handle === 'object' && handle !== null ? Number(handle) : typeof handle === 'number' ? handle : NaN;
  if (timers.delete(id)) host.clearTimer(id);
}

function inspect(value: unknown, depth = 0): string {
  if (typeof value === 'string') return depth === 0 ? value : JSON.stringify(value);
  if (value instanceof Error) return value.stack ? `${value.name}: ${value.message}\n${value.stack}` : `${value.name}: ${value.message}`;
  if (typeof value === 'function') return `[Function: ${value.name || 'anonymous'}]`;
  if (typeof value !== 'object' || value === null) return safeString(value);
  if (value instanceof ArrayBuffer) return `ArrayBuffer { byteLength: ${value.byteLength} }`;
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${value.byteLength})`;
  try {
    return JSON.stringify(value) ?? safeString(value);
  } catch {
    return safeString(value);
  }
}

function writer(stream: 'stdout' | 'stderr') {
  return (...args: unknown[]): void => host.write(stream, args.map((a) => inspect(a)).join(' '));
}

const g = globalThis as Record<string, unknown>;
g.setTimeout = (fn: unknown, ms?: unknown, ...args: unknown[]) => arm(fn, ms, args, false);
g.setInterval = (fn: unknown, ms?: unknown, ...args: unknown[]) => arm(fn, ms, args, true);
g.setImmediate = (fn: unknown, ...args: unknown[]) => arm(fn, 0, args, false);
g.clearTimeout = clear;
g.clearInterval = clear;
g.clearImmediate = clear;
g.queueMicrotask = (fn: unknown) => {
  if (typeof fn !== 'function') throw new TypeError('The "callback" argument must be of type function');
  void Promise.resolve()
    .then(() => (fn as Callback)())
    .catch(reportUncaught);
};
g.console = Object.freeze({
  log: writer('stdout'),
  info: writer('stdout'),
  debug: writer('stdout'),
  trace: writer('stderr'),
  warn: writer('stderr'),
  error: writer('stderr'),
});
g.performance = Object.freeze({ now: () => host.now(), timeOrigin: Date.now() - host.now() });
