/**
 * What agent code may import inside an isolate. Agents reach hardware, files and the network through the HAL
 * and the channel only (spec 000 §4: "all physical operations go through the HAL; agents never touch /dev/*"),
 * so builtins that open files, processes, sockets, threads or new V8 contexts are refused, and so are native
 * addons. The allowed builtins are pure computation and data plumbing — yet a few of their members reach native
 * code or state the whole daemon process shares, so those modules are served as curated copies (curateBuiltin,
 * curatedExports), prepared before any agent code runs (prepareCuratedBuiltins), both for `import` and for
 * process.getBuiltinModule.
 */
import { ErrorCode, OpenStarryError } from '../../core/errors.ts';

export const ALLOWED_BUILTINS: ReadonlySet<string> = new Set([
  'assert', 'assert/strict', 'buffer', 'crypto', 'events', 'path', 'path/posix', 'querystring', 'stream',
  'stream/promises', 'stream/web', 'string_decoder', 'timers', 'timers/promises', 'url', 'util', 'util/types',
]);

/**
 * Set and Map lookups as they were when this module loaded, before any agent code ran. Agent code shares its realm
 * (Set.prototype, Map.prototype) with the host, so a decision the host makes after agent code ran — a dynamic
 * import, process.getBuiltinModule — must not go through them: a replaced Set.prototype.has would call node:fs
 * allowed, and a Map.prototype.get that misses would send node:crypto past its curated copy to the real module.
 */
const call = Function.prototype.call;
const setHas = call.bind(Set.prototype.has as (value: unknown) => boolean) as (set: ReadonlySet<unknown>, value: unknown) => boolean;
const mapGet = call.bind(Map.prototype.get as (key: unknown) => unknown) as (map: ReadonlyMap<unknown, unknown>, key: unknown) => unknown;

/** Whether agent code may have this builtin (name without `node:`); safe to call after agent code ran. */
export function isAllowedBuiltin(name: string): boolean {
  return setHas(ALLOWED_BUILTINS, name);
}

/** `set.has(value)` that agent code cannot redirect (see setHas). */
export function hasInSet(set: ReadonlySet<unknown>, value: unknown): boolean {
  return setHas(set, value);
}

/** `map.get(key)` that agent code cannot redirect (see mapGet). */
export function getFromMap<V>(map: ReadonlyMap<unknown, V>, key: unknown): V | undefined {
  return mapGet(map, key) as V | undefined;
}

/**
 * Members of allowed builtins that agent code never gets. A worker shares the daemon's OS process, so these act
 * on the daemon itself. A function member is replaced by a stub that throws ERR_ISOLATE_DENIED (so a bundle that
 * merely imports it still links), any other member is left out.
 *
 * Audit of the allow-list on Node 20 (every own member of each module, named exports and `default`):
 *  - crypto: setEngine dlopen()s any shared library; setFips and the `fips` accessor switch OpenSSL's FIPS mode
 *    for the whole process; secureHeapUsed reports the process-wide secure heap. The rest (hashes, ciphers, keys,
 *    KDFs, randomness, webcrypto) is computation inside this isolate.
 *  - buffer: resolveObjectURL reads the process-wide Blob URL store that every worker shares (URL.createObjectURL
 *    and URL.revokeObjectURL, its writers, are removed from the global URL by isolate-hardening.ts).
 *  - path, url, util: nothing native, but path.resolve/relative, url.pathToFileURL and util.parseArgs fall back to
 *    the daemon's working directory and argv; curated versions resolve against '/' (what the isolate's
 *    process.cwd() answers) and parse [] unless told otherwise (see OVERRIDES).
 *  - assert, events, querystring, stream, stream/promises, stream/web, string_decoder, timers, timers/promises,
 *    util/types: nothing to remove — no member opens files, starts processes, loads native code, reads the
 *    environment or hands out internal bindings. (assert.ok without a message reads the caller's own module file
 *    to quote the failed expression; the caller's file name comes from the module sandbox, so that is at most the
 *    agent's own source.)
 */
export const REFUSED_BUILTIN_MEMBERS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  crypto: {
    setEngine: 'it loads a native OpenSSL engine (a shared library) into the daemon process',
    setFips: "it switches OpenSSL's FIPS mode for the whole daemon process",
    fips: "it switches OpenSSL's FIPS mode for the whole daemon process",
    secureHeapUsed: "it reports the daemon process's secure heap",
  },
  buffer: {
    resolveObjectURL: 'the Blob URL store is shared by every isolate in the daemon process',
  },
};

type AnyFunction = (...args: unknown[]) => unknown;
type Overrides = (raw: Record<string, unknown>) => Record<string, unknown>;

/** Replacements for members that would otherwise consult the daemon's cwd or argv. */
const OVERRIDES: Readonly<Record<string, Overrides>> = {
  path: (raw) => curatedPath(raw),
  'path/posix': (raw) => curatedPath(raw),
  url: (raw) => {
    const pathToFileURL = raw.pathToFileURL as AnyFunction;
    return {
      pathToFileURL: (filepath: unknown, options?: { windows?: boolean }) => {
        if (typeof filepath !== 'string') return pathToFileURL(filepath, options);
        const windows = options?.windows === true;
        const absolute = windows ? /^([a-zA-Z]:)?[\\/]/.test(filepath) : filepath.startsWith('/');
        return pathToFileURL(absolute ? filepath : `${windows ? '\\' : '/'}${filepath}`, options);
      },
    };
  },
  util: (raw) => {
    const parseArgs = raw.parseArgs as AnyFunction;
    return {
      parseArgs: (config?: Record<string, unknown>) => parseArgs(config?.args === undefined ? { ...config, args: [] } : config),
    };
  },
};

/** path.resolve and path.relative anchored at '/' (posix) and '\' (win32) instead of the daemon's cwd. */
function curatedPath(raw: Record<string, unknown>): Record<string, unknown> {
  const anchor = (flavour: Record<string, unknown>, root: string) => {
    const resolve = flavour.resolve as (...p: string[]) => string;
    const relative = flavour.relative as (from: string, to: string) => string;
    return {
      resolve: (...paths: string[]) => resolve(root, ...paths),
      relative: (from: string, to: string) => relative(resolve(root, from), resolve(root, to)),
    };
  };
  return anchor(raw, raw === raw.win32 ? '\\' : '/');
}

const curated = new WeakMap<object, unknown>();

function denied(message: string): OpenStarryError {
  return new OpenStarryError(ErrorCode.ISOLATE_DENIED, message);
}

function refusedStub(builtin: string, member: string, reason: string): () => never {
  const stub = () => {
    throw denied(`${builtin}.${member}() is refused inside an agent isolate: ${reason}`);
  };
  Object.defineProperty(stub, 'name', { value: member });
  return Object.freeze(stub);
}

/** True when agent code gets a curated copy of the builtin rather than the module Node ships. */
export function needsCuration(builtin: string): boolean {
  return Object.hasOwn(REFUSED_BUILTIN_MEMBERS, builtin) || Object.hasOwn(OVERRIDES, builtin);
}

/**
 * The agent-visible `default` export of a builtin that needsCuration: a fresh object with the module's members
 * minus REFUSED_BUILTIN_MEMBERS, plus OVERRIDES. Curated once per raw module object, so `import crypto from
 * 'node:crypto'` and process.getBuiltinModule('crypto') are the same object, and path.posix is path itself as in
 * Node. Any other allowed builtin is returned as is: the audit above found nothing in it to remove, and serving
 * Node's own object keeps identities such as util.types === require('util/types') intact.
 */
export function curateBuiltin(builtin: string, raw: unknown): unknown {
  if (!ALLOWED_BUILTINS.has(builtin)) throw denied(`builtin "${builtin}" is not on the isolate allow-list`);
  if (!needsCuration(builtin) || (typeof raw !== 'object' && typeof raw !== 'function') || raw === null) return raw;
  const cached = curated.get(raw);
  if (cached !== undefined) return cached;
  const refused = REFUSED_BUILTIN_MEMBERS[builtin] ?? {};
  const overrides = OVERRIDES[builtin]?.(raw as Record<string, unknown>) ?? {};
  if (typeof raw === 'function') {
    // A class cannot be copied without breaking `extends`/instanceof; none of the curated modules has one.
    throw new OpenStarryError(ErrorCode.INTERNAL, `module-policy: the default export of "${builtin}" is a function and cannot be curated`);
  }
  const copy: Record<PropertyKey, unknown> = Object.create(Object.getPrototypeOf(raw) as object | null) as Record<PropertyKey, unknown>;
  curated.set(raw, copy);
  const source = raw as Record<PropertyKey, unknown>;
  const isPath = builtin === 'path' || builtin === 'path/posix';
  for (const key of Reflect.ownKeys(source)) {
    const descriptor = Object.getOwnPropertyDescriptor(source, key);
    if (!descriptor) continue;
    if (typeof key === 'string' && Object.hasOwn(refused, key)) {
      if (typeof descriptor.value === 'function') {
        Object.defineProperty(copy, key, { ...descriptor, value: refusedStub(builtin, key, refused[key] as string) });
      }
      continue;
    }
    // path.posix / path.win32 are defined below, curated. Copying them first would copy a non-configurable
    // descriptor where Node froze them (the permission model does: --experimental-permission freezes node:path).
    if (isPath && (key === 'posix' || key === 'win32')) continue;
    if (typeof key === 'string' && Object.hasOwn(overrides, key)) {
      Object.defineProperty(copy, key, { value: overrides[key], writable: true, enumerable: descriptor.enumerable ?? true, configurable: true });
      continue;
    }
    Object.defineProperty(copy, key, descriptor);
  }
  // path.posix and path.win32 (and their own .posix/.win32) are path objects too: curate them the same way, so no
  // uncurated resolve() is one property away. On posix Node has path === path.posix; that identity is kept.
  if (isPath) {
    for (const flavour of ['posix', 'win32'] as const) {
      const value = source[flavour];
      if (typeof value === 'object' && value !== null) Object.defineProperty(copy, flavour, { value: value === raw ? copy : curateBuiltin(builtin, value), writable: true, enumerable: true, configurable: true });
    }
  }
  return copy;
}

/**
 * The export names and values an allowed builtin's synthetic module offers agent code: the module's own named
 * exports minus the refused non-function members (refused functions become stubs), with `default` curated.
 */
export function curatedExports(builtin: string, namespace: Record<string, unknown>): Record<string, unknown> {
  if (!needsCuration(builtin)) {
    if (!ALLOWED_BUILTINS.has(builtin)) throw denied(`builtin "${builtin}" is not on the isolate allow-list`);
    return namespace;
  }
  const refused = REFUSED_BUILTIN_MEMBERS[builtin] ?? {};
  const defaultExport = curateBuiltin(builtin, namespace.default);
  const byDefault = (typeof defaultExport === 'object' || typeof defaultExport === 'function') && defaultExport !== null ? (defaultExport as Record<string, unknown>) : undefined;
  const exports: Record<string, unknown> = {};
  for (const name of Object.keys(namespace)) {
    if (name === 'default') {
      exports.default = defaultExport;
      continue;
    }
    const value = namespace[name];
    if (Object.hasOwn(refused, name)) {
      if (typeof value === 'function') exports[name] = byDefault && typeof byDefault[name] === 'function' ? byDefault[name] : refusedStub(builtin, name, refused[name] as string);
      continue;
    }
    // Named exports must agree with the curated default (path.resolve, url.pathToFileURL, ...).
    const own = byDefault ? Object.getOwnPropertyDescriptor(byDefault, name) : undefined;
    exports[name] = own && 'value' in own ? own.value : value;
  }
  return exports;
}

/** The allowed builtins as agent code gets them; see prepareCuratedBuiltins. */
export interface CuratedBuiltins {
  /** Export name -> value (`default` included) of the module agent code imports as node:<builtin>. */
  exports(builtin: string): Promise<Record<string, unknown>>;
  /** Its default export, synchronously: what process.getBuiltinModule returns. Undefined if Node lacks it. */
  defaultExport(builtin: string): unknown;
}

export interface PrepareOptions {
  /** Imports a real builtin's namespace (injectable for tests). */
  importBuiltin?: (builtin: string) => Promise<Record<string, unknown>>;
  /** Node's own process.getBuiltinModule (Node >= 20.16), captured before hardening replaces it. */
  getBuiltinModule?: ((id: string) => unknown) | undefined;
}

/**
 * Curates every builtin that needsCuration up front — call it before any agent code runs. Afterwards the host
 * never touches a raw curated module again: if it curated lazily, at the agent's first import, agent code that
 * ran earlier could sit in the middle (a patched Object.getOwnPropertyDescriptor, WeakMap.prototype.get or
 * Promise.prototype.constructor of the realm it shares with the host) and catch the raw node:crypto with its
 * real setEngine. The other allowed builtins are served as Node ships them, so handling them late is harmless.
 * Cost: node:crypto is loaded for every agent (a few ms per cold start; a warm spare pays it while it waits).
 */
export async function prepareCuratedBuiltins(options: PrepareOptions = {}): Promise<CuratedBuiltins> {
  const getBuiltinModule = options.getBuiltinModule;
  // Synchronously where Node can (>= 20.16): a dynamic import() starts the ESM loader in the isolate (~8 ms of every
  // spawn, measured), which a CommonJS host entry otherwise never needs; import() where it cannot.
  const importBuiltin = options.importBuiltin ?? (getBuiltinModule
    ? (builtin: string) => Promise.resolve(builtinNamespace(getBuiltinModule(`node:${builtin}`)))
    : (builtin: string) => import(`node:${builtin}`) as Promise<Record<string, unknown>>);
  const prepared = new Map<string, Record<string, unknown>>();
  for (const builtin of ALLOWED_BUILTINS) {
    if (needsCuration(builtin)) prepared.set(builtin, curatedExports(builtin, await importBuiltin(builtin)));
  }
  // Called after agent code ran: lookups through the captured Set/Map methods only (see setHas).
  const allowed = (builtin: string) => {
    if (!isAllowedBuiltin(builtin)) throw denied(`builtin "${builtin}" is not on the isolate allow-list`);
  };
  return Object.freeze({
    async exports(builtin: string) {
      allowed(builtin);
      return getFromMap(prepared, builtin) ?? importBuiltin(builtin);
    },
    defaultExport(builtin: string) {
      allowed(builtin);
      const ready = getFromMap(prepared, builtin);
      if (ready) return ready.default;
      return getBuiltinModule?.(`node:${builtin}`);
    },
  });
}

/**
 * The namespace `import('node:x')` gives for a builtin, built from its exports object: Node's ESM facade of a
 * builtin names the object's own enumerable keys plus `default` (the object itself).
 */
function builtinNamespace(exports: unknown): Record<string, unknown> {
  const namespace: Record<string, unknown> = {};
  if ((typeof exports === 'object' || typeof exports === 'function') && exports !== null) {
    for (const key of Object.keys(exports)) namespace[key] = (exports as Record<string, unknown>)[key];
  }
  namespace.default = exports;
  return namespace;
}

/** Why a builtin is refused, for the error message an agent author reads. */
export function refusalReason(builtin: string): string {
  const base = builtin.split('/')[0] ?? builtin;
  switch (base) {
    case 'fs':
      return 'agents have no file-system access; use ctx.state for persistence and the HAL for devices';
    case 'child_process':
    case 'cluster':
      return 'agents cannot start processes';
    case 'net':
    case 'tls':
    case 'dgram':
    case 'dns':
    case 'http':
    case 'https':
    case 'http2':
      return 'network access needs a net capability and the process or docker isolation';
    case 'worker_threads':
      return 'agents cannot start threads';
    case 'vm':
    case 'v8':
    case 'inspector':
    case 'module':
    case 'repl':
      return 'agents cannot create V8 contexts or load modules by other means';
    default:
      return 'this builtin is not on the isolate allow-list';
  }
}
