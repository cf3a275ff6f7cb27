/**
 * The wasm isolation driver (spec 000 §2.1 "WASM Driver (experimental)", docs/ARCHITECTURE.md "Isolation drivers"): the agent's plugins and the
 * pure core are bundled by esbuild at spawn (agent-bundler.ts) and run in QuickJS compiled to WebAssembly
 * (quickjs-emscripten), one VM per agent, each in its own worker thread (vm-worker.ts) so agent code never runs on
 * the daemon's main thread. Inside there is no file system, network, process or module loading at all; the HAL and
 * everything else go through host functions that carry the same channel messages as every other driver.
 *
 * Limits: limits.memoryMb caps the VM's WebAssembly memory (out-of-memory exit); a turn of agent code that runs
 * longer than `deadlineMs` without yielding is interrupted and the agent ends (ERR_WASM_DEADLINE).
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ChannelEndpoint } from '../../core/channel-endpoint.ts';
import type { DaemonChannel, DaemonSide } from '../../core/channel-methods.ts';
import type { ChannelMessage, IChannelPort } from '../../core/channel-messages.ts';
import { errorToWire } from '../../core/errors.ts';
import type { IIsolate, IIsolationDriver, IsolateExit, IsolateOutput, IsolateSpec, IsolateUsage } from '../isolation-driver.ts';
import { ReceivedCap } from '../received-cap.ts';
import { workerErrorExit } from '../worker-error-exit.ts';
import { bundleAgent } from './agent-bundler.ts';
import type { FromWorker, ToWorker, VmWorkerData } from './worker-protocol.ts';
import { STAT_MEMORY, STAT_VM_MS } from './worker-protocol.ts';
import { wasmApi } from './wasm-api.ts';

export interface WasmDriverOptions {
  /** Longest one turn of agent code may run without yielding before the agent is ended. Default 1000 ms. */
  deadlineMs?: number;
  /** The worker entry. Default: wasm-host.js beside a bundled daemon, else vm-worker-source.mjs (from source). */
  entry?: URL;
  /** The VM runtime module esbuild bundles with the plugins. Default: wasm-vm-runtime.js beside a bundle, else vm/agent-runtime.ts. */
  runtimeEntry?: string;
  /** The compiled QuickJS WebAssembly module; default: compiled once from @jitl/quickjs-wasmfile-release-sync. */
  wasmModule?: WebAssembly.Module;
}

export const DEFAULT_DEADLINE_MS = 1000;
/** Bundles kept by blueprint hash (a policy restart or a respawn of the same template skips esbuild). */
export const BUNDLE_CACHE_SIZE = 32;

function beside(name: string): string | undefined {
  const url = new URL(`./${name}`, import.meta.url);
  return import.meta.url.endsWith('.js') && existsSync(fileURLToPath(url)) ? fileURLToPath(url) : undefined;
}

export function defaultWasmEntry(): URL {
  const bundled = beside('wasm-host.js');
  return bundled ? new URL(`file://${bundled}`) : new URL('./vm-worker-source.mjs', import.meta.url);
}

export function defaultRuntimeEntry(): string {
  return beside('wasm-vm-runtime.js') ?? fileURLToPath(new URL('./vm/agent-runtime.ts', import.meta.url));
}

/** Compiles the QuickJS release build shipped inside its npm package (nothing is downloaded). */
export async function compileQuickJsWasm(): Promise<WebAssembly.Module> {
  const file = createRequire(import.meta.url).resolve('@jitl/quickjs-wasmfile-release-sync/wasm');
  return wasmApi.compile(await readFile(file));
}

export class WasmDriver implements IIsolationDriver {
  readonly name = 'wasm' as const;
  readonly #deadlineMs: number;
  readonly #entry: URL;
  readonly #runtimeEntry: string;
  #wasm: Promise<WebAssembly.Module> | undefined;
  readonly #bundles = new Map<string, Promise<string>>();

  constructor(options: WasmDriverOptions = {}) {
    this.#deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS;
    this.#entry = options.entry ?? defaultWasmEntry();
    this.#runtimeEntry = options.runtimeEntry ?? defaultRuntimeEntry();
    if (options.wasmModule) this.#wasm = Promise.resolve(options.wasmModule);
  }

  async start(spec: IsolateSpec): Promise<IIsolate> {
    const { manifest } = spec.blueprint;
    this.#wasm ??= compileQuickJsWasm();
    const wasmModule = await this.#wasm;
    let bundle: VmWorkerData['bundle'];
    try {
      bundle = await this.#bundle(spec);
    } catch (err) {
      bundle = { failure: errorToWire(err) };
    }
    const stats = new SharedArrayBuffer(2 * Float64Array.BYTES_PER_ELEMENT);
    const workerData: VmWorkerData = {
      wasmModule,
      memoryBytes: manifest.limits.memoryMb * 1024 * 1024,
      deadlineMs: this.#deadlineMs,
      bundle,
      bootstrap: { pid: spec.pid, agentId: manifest.id, config: manifest.config as Record<string, unknown>, env: { ...spec.env }, ...(spec.maxMessageBytes === undefined ? {} : { maxMessageBytes: spec.maxMessageBytes }) },
      stats,
    };
    const worker = new Worker(this.#entry, {
      workerData,
      // The worker's own V8 heap holds only the host code and messages in flight; the agent's heap is the WASM
      // memory, capped separately. Parent flags (a test runner's loader) are not inherited.
      execArgv: ['--no-warnings'],
      env: {},
      resourceLimits: { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 4, stackSizeMb: 4 },
      name: `wasm-agent:${manifest.id}:${spec.pid}`,
    });
    return new WasmIsolate(worker, new Float64Array(stats), spec.maxMessageBytes);
  }

  /** The blueprint is frozen and its hash covers the manifest and every file, so the hash names the bundle. */
  #bundle(spec: IsolateSpec): Promise<string> {
    const { blueprint } = spec;
    const cached = this.#bundles.get(blueprint.hash);
    if (cached) {
      this.#bundles.delete(blueprint.hash); // re-inserted below: most recently used last
      this.#bundles.set(blueprint.hash, cached);
      return cached;
    }
    const made = bundleAgent({ files: blueprint.files, plugins: blueprint.manifest.plugins, runtimeEntry: this.#runtimeEntry });
    made.catch(() => this.#bundles.delete(blueprint.hash));
    this.#bundles.set(blueprint.hash, made);
    while (this.#bundles.size > BUNDLE_CACHE_SIZE) this.#bundles.delete(this.#bundles.keys().next().value as string);
    return made;
  }

  /** Nothing pooled: each isolate owns its worker; drops the bundle cache. Idempotent. */
  async close(): Promise<void> {
    this.#bundles.clear();
  }
}

class WasmIsolate implements IIsolate {
  readonly channel: DaemonChannel;
  readonly exited: Promise<IsolateExit>;
  readonly #worker: Worker;
  readonly #stats: Float64Array;
  readonly #outputListeners: ((o: IsolateOutput) => void)[] = [];
  #last = { at: performance.now(), vmMs: 0 };
  #ended = false;

  constructor(worker: Worker, stats: Float64Array, maxMessageBytes?: number) {
    this.#worker = worker;
    this.#stats = stats;
    const channelHandlers: ((m: unknown) => void)[] = [];
    const port: IChannelPort = {
      post: (message: ChannelMessage, transfer?: readonly ArrayBuffer[]) => worker.postMessage({ k: 'ch', m: message } satisfies ToWorker, transfer ? [...transfer] : undefined),
      onMessage: (handler) => {
        channelHandlers.push(handler);
      },
      close: () => undefined,
    };
    this.channel = new ChannelEndpoint<DaemonSide>(port);
    let reported: IsolateExit | undefined;
    let workerError: IsolateExit | undefined;
    // The worker is our host code and refuses an oversized post itself (quickjs-vm.ts); this is the second wall.
    const cap = new ReceivedCap(maxMessageBytes, () => void worker.terminate());
    const deliver = cap.filter((m) => {
      for (const h of channelHandlers) h(m);
    });
    worker.on('message', (message: FromWorker) => {
      if (message.k === 'ch') deliver(message.m);
      else if (message.k === 'out') for (const l of this.#outputListeners) l({ stream: message.stream, line: message.line });
      else if (message.k === 'end') reported = message.exit;
    });
    worker.on('error', (err: Error & { code?: string }) => {
      workerError = { code: 1, ...workerErrorExit(err) };
    });
    this.exited = new Promise((resolve) => {
      worker.once('exit', (code) => {
        this.#ended = true;
        this.channel.close('isolate exited');
        resolve(cap.exit(code) ?? reported ?? workerError ?? { code: code === 0 ? 1 : code, cause: 'exit' });
      });
    });
  }

  /** Ends the worker, and with it the VM and its WebAssembly memory, even in the middle of agent code. */
  async terminate(): Promise<void> {
    if (!this.#ended) await this.#worker.terminate();
    await this.exited;
  }

  /** CPU: milliseconds the worker spent inside QuickJS over wall time since the last sample. Memory: QuickJS's own estimate. */
  async usage(): Promise<IsolateUsage> {
    const now = performance.now();
    const vmMs = this.#stats[STAT_VM_MS] ?? 0;
    const elapsed = now - this.#last.at;
    const cpuPercent = elapsed > 0 ? Math.min(100, Math.round(((vmMs - this.#last.vmMs) / elapsed) * 1000) / 10) : 0;
    this.#last = { at: now, vmMs };
    return { cpuPercent, memoryBytes: this.#stats[STAT_MEMORY] ?? 0 };
  }

  onOutput(listener: (output: IsolateOutput) => void): void {
    this.#outputListeners.push(listener);
  }
}
