/**
 * The isolate's host side (spec 002 §3 "host bootstrapping"): prepares the environment, loads the manifest's
 * plugin modules and hands them to an AgentCore, then reports the lifecycle over the channel. Shared by every
 * driver that runs Node inside the isolate (worker now, process later); the driver supplies the port.
 *
 * Keep-alive: the port is referenced only while one of the host's own requests is pending, so an agent whose
 * plugins have nothing left to do (no timers, no handles, no pending calls) ends with code 0, like a process.
 */
import type * as V8 from 'node:v8';
import type * as Vm from 'node:vm';
import { deepFreeze } from '../../core/deep-freeze.ts';
import { AgentCore } from '../../core/agent-core.ts';
import { ChannelEndpoint } from '../../core/channel-endpoint.ts';
import type { IsolateSide } from '../../core/channel-methods.ts';
import type { IChannelPort, LifecycleNote } from '../../core/channel-messages.ts';
import { ErrorCode, OpenStarryError, errorToWire } from '../../core/errors.ts';
import type { IPlugin, JsonValue } from '../../core/plugin.ts';
import { pluginShapeProblem } from '../../core/plugin.ts';
import { HalProxy } from '../../../hal/hal-proxy.ts';
import { cappedPort } from './capped-port.ts';
import { heapHygiene, hideGc, measureCollector } from './heap-hygiene.ts';
import { hardenIsolate } from './isolate-hardening.ts';
import type { CuratedBuiltins } from './module-policy.ts';
import { prepareCuratedBuiltins } from './module-policy.ts';
import { ModuleSandbox } from './module-sandbox.ts';

/** Everything the host needs, as structured-clone-safe data (workerData, an IPC message, a file). */
export interface HostBootstrap {
  pid: string;
  agentId: string;
  rootDir: string;
  plugins: readonly string[];
  files: Readonly<Record<string, string>>;
  config: Readonly<Record<string, JsonValue>>;
  /** Largest message the host may send (capped-port.ts); default 1 MiB. */
  maxMessageBytes?: number;
  /** The last State Snapshot (null: none) when the driver brings it; absent, the host asks with `state.load`. */
  initialState?: JsonValue | null;
}

export interface HostOptions {
  port: IChannelPort;
  bootstrap: HostBootstrap;
  keepAlive: { ref(): void; unref(): void };
  /** Ends the isolate (process.exit of the worker), captured before hardening. */
  exit: (code: number) => void;
  /**
   * The curated builtins, if the entry started preparing them early (a warm spare does it while it waits);
   * otherwise prepared here. Either way before any agent code runs.
   */
  builtins?: Promise<CuratedBuiltins>;
}

export async function runAgentHost(options: HostOptions): Promise<void> {
  const { bootstrap, keepAlive, exit } = options;
  // No gc for agent code, even under a --expose-gc given to Node (heap-hygiene.ts); the host collects another way.
  hideGc();
  const port = cappedPort(options.port, bootstrap.maxMessageBytes, exit);
  let referenced = true; // the entry refs the port before the host runs
  const channel = new ChannelEndpoint<IsolateSide>(port, {
    // Edge-triggered: ref on 0 -> 1, unref on 1 -> 0, not a libuv call per request (the HAL's hot path).
    onPendingChange: (n) => {
      const busy = n > 0;
      if (busy === referenced) return;
      referenced = busy;
      if (busy) keepAlive.ref();
      else keepAlive.unref();
    },
    // Requests beyond this wait in the isolate's own (limited) heap, not in the daemon's queue.
    maxInFlight: 64,
  });
  const lifecycle = (note: LifecycleNote) => channel.notify('lifecycle', note);
  const heapStatistics = lazyHeapStatistics();
  let hygiene: (() => Promise<V8.HeapInfo>) | undefined;
  channel.handle('agent.usage', async () => {
    await heapStatistics(); // loads node:v8 and node:vm at the first question
    hygiene ??= heapHygiene(heapStatistics.now, measureCollector(heapStatistics.vm()), (before, after) => {
      const mb = (n: number) => (n / 2 ** 20).toFixed(1);
      channel.notify('log', { level: 'debug', message: `heap: collected ${mb(before - after)} MB of garbage (used ${mb(before)} -> ${mb(after)} MB)` });
    });
    const heap = await hygiene();
    return { memoryBytes: heap.total_physical_size + heap.external_memory };
  });
  // Spec 002 phase 3 "restore memory": the last snapshot, before any plugin starts. The worker driver brings it in
  // the bootstrap: waiting for an answer on the port costs this thread an event-loop turn before `running`, and V8
  // runs its pending GC tasks in that turn first (issue 12: 7 ms of a cold spawn on the loaded 2-core dev machine,
  // counted with marks in the host). Otherwise it is asked first, so the daemon's answer travels while this thread
  // prepares the builtins and loads the plugins. A daemon without a state DB (or a driver test) answers nothing
  // useful: then there is no snapshot.
  const initialStateAnswer = bootstrap.initialState !== undefined ? bootstrap.initialState : channel.request('state.load').catch(() => undefined);

  let plugins: IPlugin[];
  try {
    const builtins = await (options.builtins ?? prepareCuratedBuiltins({ getBuiltinModule: realGetBuiltinModule() }));
    // From here on agent code sees the allow-listed process facade, not the real process (isolate-hardening.ts).
    hardenIsolate({ exit, builtins });
    plugins = await loadPlugins(bootstrap, builtins);
  } catch (err) {
    lifecycle({ state: 'crashed', error: errorToWire(err) });
    exit(1);
    return;
  }

  const hal = new HalProxy(channel, (message) => channel.notify('log', { level: 'error', message }));
  // ctx.config is deep-frozen (IAgentContext): the structured clone that brought the bootstrap dropped any freeze.
  const initialState = await initialStateAnswer;
  const core = new AgentCore({
    agentId: bootstrap.agentId,
    config: deepFreeze(bootstrap.config),
    plugins,
    channel,
    hal,
    ...(initialState === undefined || initialState === null ? {} : { initialState }),
  });
  channel.handle('agent.stop', async () => {
    await core.stop();
    lifecycle({ state: 'stopped' });
    // The reply is posted synchronously after this handler resolves; exit on the next turn.
    setImmediate(() => exit(0));
  });
  try {
    await core.start();
  } catch (err) {
    lifecycle({ state: 'crashed', error: errorToWire(err) });
    exit(1);
    return;
  }
  lifecycle({ state: 'running' });
  // From now on only pending calls and subscriptions (a watch started in start()) keep the isolate alive.
  if (channel.pending === 0 && referenced) {
    referenced = false;
    keepAlive.unref();
  }
}

/**
 * v8.getHeapStatistics and the collector's node:vm, loaded at the first usage question rather than at start:
 * node:v8 costs a worker ~1 ms to load (measured), before `running` otherwise. Node's own getBuiltinModule is
 * captured now, before hardening.
 */
function lazyHeapStatistics(): (() => Promise<void>) & { now(): V8.HeapInfo; vm(): typeof Vm } {
  const getBuiltinModule = realGetBuiltinModule();
  let v8: typeof V8 | undefined;
  let vm: typeof Vm | undefined;
  const load = async () => {
    // Never hand a module object to a promise: resolving a promise with it reads `.then` through the prototype
    // chain, and agent code that defines Object.prototype.then would receive the raw node:v8 as `this`
    // (setFlagsFromString, writeHeapSnapshot). The import() fallback resolves to a namespace, which has no prototype.
    if (v8 === undefined) v8 = getBuiltinModule ? (getBuiltinModule('node:v8') as typeof V8) : await import('node:v8');
    if (vm === undefined) vm = getBuiltinModule ? (getBuiltinModule('node:vm') as typeof Vm) : await import('node:vm');
  };
  /** Synchronously, once `load` has run. */
  const now = () => (v8 as typeof V8).getHeapStatistics();
  return Object.assign(load, { now, vm: () => vm as typeof Vm });
}

/** Node's own process.getBuiltinModule (Node >= 20.16), bound; call before hardening replaces it. */
export function realGetBuiltinModule(): ((id: string) => unknown) | undefined {
  const own = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  return typeof own === 'function' ? own.bind(process) : undefined;
}

async function loadPlugins(b: HostBootstrap, builtins: CuratedBuiltins): Promise<IPlugin[]> {
  const sandbox = new ModuleSandbox({ rootDir: b.rootDir, files: b.files, builtins });
  const plugins: IPlugin[] = [];
  for (const rel of b.plugins) {
    let ns: Record<string, unknown>;
    try {
      ns = await sandbox.import(rel);
    } catch (err) {
      if (err instanceof OpenStarryError) throw err;
      throw new OpenStarryError(ErrorCode.PLUGIN_INVALID, `plugin ${rel} failed to load: ${errorToWire(err).message}`, { cause: err });
    }
    const problem = pluginShapeProblem(ns.default);
    if (problem) throw new OpenStarryError(ErrorCode.PLUGIN_INVALID, `plugin ${rel}: ${problem} (expected export default { name, start(ctx), stop?(ctx) })`);
    plugins.push(ns.default as IPlugin);
  }
  return plugins;
}
