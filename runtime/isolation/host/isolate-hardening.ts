/**
 * Closes the escape hatches a worker thread leaves in its globals before agent code runs. A worker shares the
 * daemon's OS process, so the real `process` is an ambient authority over the daemon: process.report.writeReport
 * writes files as the daemon user and getReport() dumps the daemon's whole environment, loadEnvFile reads any
 * file, _getActiveHandles() hands out the channel's MessagePort, _rawDebug writes to the daemon's fd 2, dlopen
 * and binding load native code. A deny-list of those members cannot keep up with Node, so agent code gets an
 * ALLOW-LIST instead: `globalThis.process` becomes a frozen facade (AgentProcess) with only the members below.
 *
 * Why swapping the global is safe for Node itself: Node's internals never read `globalThis.process`; every
 * internal module receives the real process object as a parameter of its wrapper, so timers, nextTick, promise
 * rejection handling, Buffer, streams, structuredClone and worker shutdown keep working on the real one. Host
 * code that needs the real process captures it before hardening (worker-entry.ts binds process.exit first and
 * applies a spare's env before runAgentHost runs; agent-host.ts and the core use no `process` afterwards).
 *
 * The global console goes too: Node's console reaches the real stdout stream, whose internal MessagePort
 * (Symbol(kPort)) talks to the parent thread. Agent code gets a Console writing through the facade's
 * stdout/stderr, so its output is still captured by the driver as before.
 *
 * Other globals: fetch/WebSocket/EventSource (network access is a capability, `net:...`, not a default), and the
 * cross-thread messaging constructors BroadcastChannel/MessageChannel/MessagePort/Worker, which let agents in
 * different workers talk without any capability (MessagePort becomes an inert stand-in where Node's undici reads
 * it: INERT_MESSAGE_PORT). URL.createObjectURL/revokeObjectURL go with them: the Blob URL
 * store is shared by every worker of the process (buffer.resolveObjectURL is refused by module-policy.ts).
 * structuredClone keeps working: Node implements it with its own internal MessageChannel, not the global.
 *
 * This is a soft boundary inside one process — the spec's "process driver, for development" level. The process
 * and docker drivers add OS-level isolation.
 */
import { Console } from 'node:console';
import { format } from 'node:util';
import { ErrorCode, OpenStarryError } from '../../core/errors.ts';
import type { CuratedBuiltins } from './module-policy.ts';
import { isAllowedBuiltin } from './module-policy.ts';

/**
 * Public members agent code finds on its process facade as functions that throw ERR_ISOLATE_DENIED (a clear error
 * instead of "not a function"). Everything else the real process has (report, _getActiveHandles, _rawDebug,
 * reallyExit, _linkedBinding, ...) is simply absent from the facade.
 */
export const REFUSED_PROCESS_MEMBERS = [
  'binding', 'dlopen', 'kill', 'abort', 'chdir', 'umask', 'setuid', 'setgid', 'seteuid', 'setegid', 'setgroups', 'initgroups', 'openStdin', 'loadEnvFile',
] as const;

/**
 * Replaced by refusing stubs on the real process too (Node itself calls none of them). This second line matters:
 * the real process stays reachable to an agent that hooks a prototype of its own realm — e.g. patching
 * EventEmitter.prototype.emit, then process.emitWarning() makes Node call process.emit on the real process —
 * and this codebase deliberately does not try to defend the agent's realm against prototype pollution. So the
 * real process itself must not hold anything that reaches beyond the isolate (see defangRealProcess).
 */
const REFUSED_REAL_PROCESS_MEMBERS = [
  'binding', '_linkedBinding', 'dlopen', 'kill', '_kill', 'abort', 'chdir', 'setuid', 'setgid', 'seteuid', 'setegid', 'setgroups', 'initgroups',
  '_debugProcess', 'openStdin', 'loadEnvFile', '_getActiveHandles', '_getActiveRequests',
] as const;

/** Globals agent code does not get (see the header). */
export const REMOVED_GLOBALS = ['fetch', 'WebSocket', 'EventSource', 'BroadcastChannel', 'MessageChannel', 'MessagePort', 'Worker'] as const;

/**
 * Node 24's bundled undici (7.x) reads the global MessagePort as it loads, and it loads lazily, on the first touch of
 * Headers, Request, Response, FormData, MessageEvent or CloseEvent (V8 lazy data properties: even a property-descriptor
 * lookup loads it). With MessagePort removed, every such touch threw "MessagePort is not defined" (checked on
 * 24.22.3; the undici 6 of Node 20 and 22 does not read it). Loading undici before removing MessagePort would cost
 * ~30 ms and ~3 MB of heap per isolate (measured), so where undici reads it the global becomes this stand-in instead:
 * like the real one it cannot be constructed, and it shares nothing with real ports, whose prototype (and with it
 * the isolate's own channel to the daemon) stays out of reach.
 */
const INERT_MESSAGE_PORT = Object.freeze(
  class MessagePort {
    constructor() {
      throw new TypeError('Illegal constructor');
    }
  },
);
Object.freeze(INERT_MESSAGE_PORT.prototype);

/** True when this undici (process.versions.undici) reads the global MessagePort as it loads: 7 and later. */
export function undiciReadsMessagePort(undiciVersion: string | undefined): boolean {
  const major = Number(/^(\d+)\./.exec(undiciVersion ?? '')?.[1]);
  return Number.isInteger(major) && major >= 7;
}

/** Variables of the DI protocol (spec 000 §2.2) — the only part of the environment agent code sees. */
const AGENT_ENV_PREFIX = 'OPENSTARRY_';

/** What `process.stdout` / `process.stderr` are for agent code. */
export interface AgentWriter {
  write(chunk: string | Uint8Array): boolean;
}

/** The whole `process` agent code sees. */
export interface AgentProcess {
  readonly env: Readonly<Record<string, string>>;
  readonly argv: readonly string[];
  readonly execArgv: readonly string[];
  readonly version: string;
  readonly versions: Readonly<Record<string, string | undefined>>;
  readonly platform: string;
  readonly arch: string;
  readonly stdout: AgentWriter;
  readonly stderr: AgentWriter;
  nextTick(callback: (...args: unknown[]) => void, ...args: unknown[]): void;
  readonly hrtime: ((time?: [number, number]) => [number, number]) & { readonly bigint: () => bigint };
  uptime(): number;
  readonly memoryUsage: (() => NodeJS.MemoryUsage) & { readonly rss: () => number };
  cpuUsage(previous?: NodeJS.CpuUsage): NodeJS.CpuUsage;
  emitWarning(warning: string | Error, ...rest: unknown[]): void;
  /** Ends this isolate only (the worker), like process.exit in a process of its own. */
  exit(code?: number): void;
  cwd(): string;
  /** Same policy as imports: allowed builtins only, curated. */
  getBuiltinModule?(id: string): unknown;
}

export interface HardenOptions {
  /** Ends the isolate (the worker's own process.exit), captured by the entry before anything else ran. */
  exit: (code: number) => void;
  /** The builtins as agent code gets them (module-policy.ts prepareCuratedBuiltins), for getBuiltinModule. */
  builtins: CuratedBuiltins;
}

function denied(message: string): OpenStarryError {
  return new OpenStarryError(ErrorCode.ISOLATE_DENIED, message);
}

function refusedProcessMember(name: string): () => never {
  return () => {
    throw denied(`process.${name}() is refused inside an agent isolate`);
  };
}

function deepFreeze<T>(value: T): T {
  if ((typeof value === 'object' || typeof value === 'function') && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Reflect.ownKeys(value)) {
      const d = Object.getOwnPropertyDescriptor(value, key);
      if (d && 'value' in d) deepFreeze(d.value);
    }
  }
  return value;
}

/** Builds the facade from the real process; nothing in it holds the real process except through closures. */
export function createAgentProcess(proc: NodeJS.Process, { exit, builtins }: HardenOptions): AgentProcess {
  const stdout = proc.stdout;
  const stderr = proc.stderr;
  const writer = (stream: NodeJS.WritableStream): AgentWriter => ({
    write: (chunk: string | Uint8Array) => stream.write(typeof chunk === 'string' || chunk instanceof Uint8Array ? chunk : String(chunk)),
  });
  const realHrtime = proc.hrtime;
  const realMemoryUsage = proc.memoryUsage;
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(proc.env)) {
    if (key.startsWith(AGENT_ENV_PREFIX) && typeof value === 'string') env[key] = value;
  }
  const facade: AgentProcess & { [Symbol.toStringTag]: string } = {
    env,
    argv: [],
    execArgv: [],
    version: proc.version,
    versions: { ...proc.versions },
    platform: proc.platform,
    arch: proc.arch,
    stdout: writer(stdout),
    stderr: writer(stderr),
    nextTick: (callback, ...args) => proc.nextTick(callback, ...args),
    hrtime: Object.assign((time?: [number, number]) => realHrtime(time), { bigint: () => realHrtime.bigint() }),
    uptime: () => proc.uptime(),
    memoryUsage: Object.assign(() => realMemoryUsage(), { rss: () => realMemoryUsage.rss() }),
    cpuUsage: (previous) => proc.cpuUsage(previous),
    emitWarning: (warning, ...rest) => (proc.emitWarning as (w: string | Error, ...r: unknown[]) => void)(warning, ...rest),
    exit: (code) => exit(code ?? 0),
    cwd: () => '/',
    ...Object.fromEntries(REFUSED_PROCESS_MEMBERS.map((name) => [name, refusedProcessMember(name)])),
    // Libraries tell Node from browsers by Object.prototype.toString.call(process) === '[object process]'.
    [Symbol.toStringTag]: 'process',
  };
  if (typeof (proc as { getBuiltinModule?: unknown }).getBuiltinModule === 'function') {
    facade.getBuiltinModule = (id: string) => {
      const name = typeof id === 'string' && id.startsWith('node:') ? id.slice(5) : id;
      if (typeof name !== 'string' || !isAllowedBuiltin(name)) throw denied(`process.getBuiltinModule("${String(id)}") is refused inside an agent isolate`);
      return builtins.defaultExport(name);
    };
  }
  return deepFreeze(facade);
}

/**
 * The second line on the real process (see REFUSED_REAL_PROCESS_MEMBERS): refusing stubs, the same filtered
 * getBuiltinModule as the facade (the real one hands out node:child_process), no `mainModule` (the CommonJS host's
 * module, whose require loads anything), no `report` (writeReport writes
 * files as the daemon user, getReport dumps the daemon's environment, report.directory/reportOnFatalError are
 * process-wide settings), and _rawDebug writing to the worker's captured stderr instead of the daemon's fd 2.
 */
function defangRealProcess(proc: NodeJS.Process, agentProcess: AgentProcess): void {
  const stderr = proc.stderr;
  const replacements: Record<string, unknown> = Object.fromEntries(REFUSED_REAL_PROCESS_MEMBERS.map((name) => [name, refusedProcessMember(name)]));
  replacements.getBuiltinModule = agentProcess.getBuiltinModule;
  replacements.report = undefined;
  // The worker host is a CommonJS entry (dist/agent-host.cjs), so Node makes it the thread's main module:
  // process.mainModule.require, and mainModule.constructor._load, would load any builtin.
  replacements.mainModule = undefined;
  replacements._rawDebug = (...args: unknown[]) => {
    stderr.write(`${format(...args)}\n`);
  };
  for (const [name, value] of Object.entries(replacements)) {
    if (!(name in proc)) continue;
    Object.defineProperty(proc, name, { configurable: false, writable: false, enumerable: false, value });
  }
}

/** A console like Node's global one, writing through the facade's stdout/stderr. */
function createAgentConsole(agentProcess: AgentProcess, original: Console | undefined): Console {
  // ignoreErrors: false — the facade writers are not EventEmitters; errors of a worker's stdio surface as the
  // worker's own errors anyway.
  const agentConsole = new Console({ stdout: agentProcess.stdout as NodeJS.WritableStream, stderr: agentProcess.stderr as NodeJS.WritableStream, ignoreErrors: false });
  Object.defineProperty(agentConsole, 'Console', { value: Console, writable: true, enumerable: false, configurable: true });
  // V8's inspector-only members (no-ops without an inspector session) that Node's global console also has.
  for (const name of ['profile', 'profileEnd', 'timeStamp', 'context', 'createTask']) {
    const member = (original as unknown as Record<string, unknown> | undefined)?.[name];
    if (typeof member === 'function' && !(name in agentConsole)) Object.defineProperty(agentConsole, name, { value: member, writable: true, enumerable: true, configurable: true });
  }
  return agentConsole;
}

/**
 * Hardens this thread's globals for agent code; returns the process facade it installed. Call once, after the
 * host took what it needs from the real process and before any agent module is evaluated.
 */
export function hardenIsolate(options: HardenOptions, proc: NodeJS.Process = process, global: typeof globalThis = globalThis): AgentProcess {
  const agentProcess = createAgentProcess(proc, options);

  defangRealProcess(proc, agentProcess);

  const agentConsole = createAgentConsole(agentProcess, global.console);
  Object.defineProperty(global, 'console', { value: agentConsole, writable: true, enumerable: false, configurable: true });
  Object.defineProperty(global, 'process', { value: agentProcess, writable: false, enumerable: false, configurable: false });

  for (const name of REMOVED_GLOBALS) {
    if (name in global) delete (global as Record<string, unknown>)[name];
  }
  if (undiciReadsMessagePort(proc.versions.undici)) {
    Object.defineProperty(global, 'MessagePort', { value: INERT_MESSAGE_PORT, writable: false, enumerable: false, configurable: false });
  }
  const url = global.URL as unknown as Record<string, unknown> | undefined;
  if (url) {
    for (const name of ['createObjectURL', 'revokeObjectURL']) {
      if (name in url) delete url[name];
    }
  }
  return agentProcess;
}
