/**
 * One agent's QuickJS VM, as hosted by the wasm worker (vm-worker.ts): its lifecycle, the interrupt deadline and
 * the turn loop. The host functions it answers are installed by host-bridge.ts (the VM side: vm/host-api.ts), its
 * capped memory comes from vm-memory.ts, its timers from vm-timers.ts, and exceptions are read by vm-exceptions.ts.
 * Every entry into agent code — evaluating the bundle, delivering a channel message, firing a timer — is one
 * "turn": the call plus every promise job it queues, under one deadline. After each turn the VM may end: out of
 * memory, an uncaught error, an exit the runtime asked for, or nothing left to do (no pending channel requests or
 * subscriptions, no referenced timers, no jobs).
 *
 * Memory: QuickJS's own malloc limit (setMemoryLimit) is set, but this build has no malloc_usable_size, so QuickJS
 * counts ~8 bytes per allocation whatever its size and the limit alone lets a heap grow several times past it.
 * The hard bound is the WebAssembly.Memory itself (vm-memory.ts): a growth past it fails, malloc returns NULL and
 * QuickJS throws "out of memory". A refused growth is recorded, and the agent is ended as out-of-memory at the end
 * of that turn even if its code caught the error: a VM at its cap cannot be trusted to do anything useful (QuickJS
 * may no longer even allocate the error object).
 */
import releaseSyncModule from '@jitl/quickjs-wasmfile-release-sync';
import type { QuickJSContext, QuickJSHandle, QuickJSRuntime } from 'quickjs-emscripten-core';
import { newQuickJSWASMModuleFromVariant, newVariant } from 'quickjs-emscripten-core';
import type { ChannelMessage } from '../../core/channel-messages.ts';
import { isolateNote } from '../../core/channel-methods.ts';
import type { WireError } from '../../core/errors.ts';
import { ErrorCode } from '../../core/errors.ts';
import type { IsolateExit } from '../isolation-driver.ts';
import { DEFAULT_MAX_MESSAGE_BYTES, TOO_LARGE_NOTE, tooLargeBytes, tooLargeError } from '../message-cap.ts';
import { deniedModuleSource } from './agent-bundler-denied.ts';
import { installHostFunctions } from './host-bridge.ts';
import { encodeMessage } from './message-codec.ts';
import type { VmErrorInfo } from './vm/host-contract.ts';
import type { Dumped } from './vm-exceptions.ts';
import { takeException } from './vm-exceptions.ts';
import { MIN_WASM_BYTES, cappedWasmMemory } from './vm-memory.ts';
import { VmTimers } from './vm-timers.ts';
import { MEMORY_SAMPLE_MS, STAT_MEMORY, STAT_VM_MS } from './worker-protocol.ts';

type SyncVariant = Extract<Parameters<typeof newVariant>[0], { type: 'sync' }>;
type VariantMemory = NonNullable<Parameters<typeof newVariant>[1]['wasmMemory']>;
// The package's types are CommonJS-shaped (the whole module); under ESM its default export is the variant itself.
const releaseSync = ((releaseSyncModule as { default?: unknown }).default ?? releaseSyncModule) as SyncVariant;

export { MIN_WASM_BYTES } from './vm-memory.ts';
/**
 * The deadline of the first turn (evaluating the bundle) is at least this long: the first VM in a process spends
 * 0.4-0.6 s there compiling QuickJS's WebAssembly functions lazily (later VMs reuse the compiled code and take
 * 20-60 ms), which must not be mistaken for a busy loop. A loop at a plugin's top level is still ended.
 */
export const FIRST_TURN_DEADLINE_MS = 5000;

export interface VmConfig {
  wasmModule: WebAssembly.Module;
  memoryBytes: number;
  deadlineMs: number;
  bundle: string;
  bootstrap: { pid: string; agentId: string; config: Record<string, unknown>; env: Record<string, string>; maxMessageBytes?: number };
  stats: Float64Array;
}

export interface VmCallbacks {
  post(message: ChannelMessage, transfer: ArrayBuffer[]): void;
  output(stream: 'stdout' | 'stderr', line: string): void;
  /** Called once, after the VM has been disposed. */
  end(exit: IsolateExit): void;
}

export class QuickJsAgentVm {
  readonly #config: VmConfig;
  readonly #cb: VmCallbacks;
  readonly #rt: QuickJSRuntime;
  readonly #ctx: QuickJSContext;
  readonly #growRefused: () => boolean;
  readonly #timers = new VmTimers((id) => this.#fireTimer(id));
  #deliverFn: QuickJSHandle | undefined;
  #timerFn: QuickJSHandle | undefined;
  #deadline = Number.POSITIVE_INFINITY;
  #interrupted = false;
  #referenced = true;
  #exitCode: number | undefined;
  #uncaught: VmErrorInfo | undefined;
  #moduleResult: QuickJSHandle | undefined;
  #memoryTimer: ReturnType<typeof setTimeout> | undefined;
  #ended = false;
  /** Set when agent code posted a message over the cap: the turn is interrupted and the VM ends with it. */
  #tooLarge: WireError | undefined;
  #queue: ChannelMessage[] | undefined = [];

  private constructor(config: VmConfig, cb: VmCallbacks, rt: QuickJSRuntime, growRefused: () => boolean) {
    this.#config = config;
    this.#cb = cb;
    this.#rt = rt;
    this.#growRefused = growRefused;
    rt.setMemoryLimit(config.memoryBytes);
    // Recorded here, not read from the exception: QuickJS makes the interrupt uncatchable by try/catch, but inside an
    // async function it still becomes a promise rejection that agent code could swallow.
    rt.setInterruptHandler(() => {
      if (performance.now() <= this.#deadline) return false;
      this.#interrupted = true;
      return true;
    });
    // A computed import(specifier) esbuild could not resolve at bundle time reaches QuickJS's loader: every one is
    // refused, as a module whose evaluation throws the same coded error a literal refusal does (agent-bundler.ts).
    rt.setModuleLoader((name) => deniedModuleSource(`import("${name}") refused: the wasm isolate loads no modules at run time`));
    this.#ctx = rt.newContext();
    this.#installHost();
  }

  #installHost(): void {
    installHostFunctions(this.#ctx, {
      bootstrap: () => JSON.stringify(this.#config.bootstrap),
      admit: (size) => !this.#tooLarge && !this.#refuseOversized(size()),
      post: (message, copies) => {
        if (message.t === 'note' && message.method === TOO_LARGE_NOTE) {
          // The runtime measured first and refused (vm/agent-runtime.ts): end the VM the same way.
          this.#tooLarge = tooLargeError(tooLargeBytes(message.params) ?? this.#cap() + 1, this.#cap());
          this.#deadline = Number.NEGATIVE_INFINITY;
          return;
        }
        this.#cb.post(message, copies);
      },
      onDeliver: (f) => {
        this.#deliverFn?.dispose();
        this.#deliverFn = f;
      },
      onTimer: (f) => {
        this.#timerFn?.dispose();
        this.#timerFn = f;
      },
      setTimer: (id, ms, ref) => this.#timers.set(id, ms, ref),
      clearTimer: (id) => this.#timers.clear(id),
      output: (stream, line) => this.#cb.output(stream, line),
      keepAlive: (on) => {
        this.#referenced = on;
      },
      exit: (code) => {
        this.#exitCode ??= code;
      },
      uncaught: (info) => {
        this.#uncaught ??= info;
      },
    });
  }

  /** Instantiates QuickJS on its own capped WebAssembly memory and evaluates the agent bundle (the first turn). */
  static async start(config: VmConfig, cb: VmCallbacks): Promise<QuickJsAgentVm> {
    const { memory, growRefused } = cappedWasmMemory(config.memoryBytes);
    const quickjs = await newQuickJSWASMModuleFromVariant(newVariant(releaseSync, { wasmModule: config.wasmModule, wasmMemory: memory as unknown as VariantMemory }));
    const vm = new QuickJsAgentVm(config, cb, quickjs.newRuntime(), growRefused);
    vm.#turn(() => vm.#ctx.evalCode(config.bundle, `agent:${config.bootstrap.agentId}.js`, { type: 'module', strict: true }), true);
    return vm;
  }

  /** A channel message from the daemon. Messages that arrive before the runtime registered its receiver wait. */
  deliver(message: ChannelMessage): void {
    if (this.#ended) return;
    if (!this.#deliverFn) {
      this.#queue?.push(message);
      return;
    }
    const deliverFn = this.#deliverFn;
    this.#turn(() => {
      const { json, buffers } = encodeMessage(message);
      const args = [this.#ctx.newString(json), ...buffers.map((b) => this.#ctx.newArrayBuffer(b))];
      try {
        return this.#ctx.callFunction(deliverFn, this.#ctx.undefined, ...args);
      } finally {
        for (const a of args) a.dispose();
      }
    });
  }

  /** Ends the VM without running more agent code (terminate). The exit is reported like any other. */
  kill(exit: IsolateExit): void {
    this.#finish(exit);
  }

  /**
   * A post's size, measured from its handles before anything is copied out of the VM's memory (host-bridge.ts).
   * Over the cap: nothing is sent, and the turn is interrupted at once (the interrupt handler sees a deadline in
   * the past); #afterTurn then ends the VM as message-too-large.
   */
  #refuseOversized(bytes: number): boolean {
    const cap = this.#cap();
    if (bytes <= cap) return false;
    this.#tooLarge = tooLargeError(bytes, cap);
    this.#deadline = Number.NEGATIVE_INFINITY;
    return true;
  }

  #cap(): number {
    return this.#config.bootstrap.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  }

  /** A timer of the VM runtime fired: a turn that calls its dispatcher with the id. */
  #fireTimer(id: number): void {
    const timerFn = this.#timerFn;
    if (!timerFn) return;
    this.#turn(() => {
      const arg = this.#ctx.newNumber(id);
      try {
        return this.#ctx.callFunction(timerFn, this.#ctx.undefined, arg);
      } finally {
        arg.dispose();
      }
    });
  }

  /** Runs agent code, then every promise job it queued, under one deadline; then decides whether the VM ends. */
  #turn(run: () => { error?: QuickJSHandle; value?: QuickJSHandle } | undefined, evaluating = false): void {
    if (this.#ended) return;
    const started = performance.now();
    this.#deadline = started + (evaluating ? Math.max(this.#config.deadlineMs, FIRST_TURN_DEADLINE_MS) : this.#config.deadlineMs);
    let failure: Dumped | undefined;
    try {
      const result = run();
      if (result?.error) failure = this.#take(result.error);
      else if (result?.value) {
        if (evaluating) this.#moduleResult = result.value;
        else result.value.dispose();
      }
      while (!failure && this.#rt.hasPendingJob()) {
        const jobs = this.#rt.executePendingJobs(-1);
        if (jobs.error) failure = this.#take(jobs.error);
      }
    } catch (err) {
      // A trap in the WASM (stack exhausted in C, memory access) or a host-side failure: the VM is unusable.
      failure = { info: { name: (err as Error).name ?? 'Error', message: (err as Error).message ?? String(err) }, interrupted: false, outOfMemory: false };
    } finally {
      this.#deadline = Number.POSITIVE_INFINITY;
      this.#config.stats[STAT_VM_MS] = (this.#config.stats[STAT_VM_MS] ?? 0) + (performance.now() - started);
    }
    this.#afterTurn(failure, evaluating);
  }

  #afterTurn(failure: Dumped | undefined, evaluating: boolean): void {
    if (this.#ended) return;
    if (this.#tooLarge) {
      this.#finish({ code: 1, cause: 'message-too-large', error: this.#tooLarge });
      return;
    }
    if (this.#growRefused() || failure?.outOfMemory) {
      const mb = Math.round(Math.max(MIN_WASM_BYTES, this.#config.memoryBytes) / (1024 * 1024));
      this.#finish({ code: 1, cause: 'out-of-memory', error: { code: ErrorCode.WASM_OUT_OF_MEMORY, message: `agent needed more than its ${mb} MB (limits.memoryMb): QuickJS ran out of memory` } });
      return;
    }
    if (this.#interrupted || failure?.interrupted) {
      this.#finish({ code: 1, cause: 'uncaught-error', error: { code: ErrorCode.WASM_DEADLINE, message: `agent code ran for more than ${this.#config.deadlineMs} ms without yielding (a busy loop?); ended by the wasm interrupt deadline` } });
      return;
    }
    const loadFailure = failure && evaluating ? failure : this.#moduleFailure();
    if (loadFailure) {
      // Like the worker host: a plugin that cannot even be evaluated is a crash at start, reported on the channel.
      this.#cb.post(isolateNote('lifecycle', { state: 'crashed', error: { code: ErrorCode.PLUGIN_INVALID, message: `plugin failed to load: ${loadFailure.info.message}` } }), []);
      this.#finish({ code: 1, cause: 'exit' });
      return;
    }
    if (failure || this.#uncaught) {
      this.#finish({ code: 1, cause: 'uncaught-error', error: toWire((failure?.info ?? this.#uncaught) as VmErrorInfo) });
      return;
    }
    if (this.#exitCode !== undefined) {
      this.#finish({ code: this.#exitCode, cause: 'exit' });
      return;
    }
    if (this.#deliverFn && this.#queue) {
      const queued = this.#queue;
      this.#queue = undefined;
      if (queued.length > 0) {
        for (const m of queued) this.deliver(m);
        return;
      }
    }
    if (!this.#referenced && !this.#timers.anyRef() && !this.#rt.hasPendingJob()) {
      this.#finish({ code: 0, cause: 'exit' });
      return;
    }
    if (this.#config.stats[STAT_MEMORY] === 0) this.#sampleMemory();
    this.#memoryTimer ??= setTimeout(() => {
      this.#memoryTimer = undefined;
      this.#sampleMemory();
    }, MEMORY_SAMPLE_MS);
  }

  /** A top-level-await bundle evaluates to a promise: a rejection of it is a load failure, seen after a later turn. */
  #moduleFailure(): Dumped | undefined {
    const handle = this.#moduleResult;
    if (!handle) return undefined;
    const state = this.#ctx.getPromiseState(handle);
    if (state.type === 'pending') return undefined;
    this.#moduleResult = undefined;
    if (state.type === 'fulfilled') {
      if (!state.notAPromise) state.value.dispose();
      handle.dispose();
      return undefined;
    }
    handle.dispose();
    return this.#take(state.error);
  }

  #take(handle: QuickJSHandle): Dumped {
    return takeException(this.#ctx, handle);
  }

  #sampleMemory(): void {
    if (this.#ended) return;
    try {
      const used = /memory used\s+\d+\s+(\d+)/.exec(this.#rt.dumpMemoryUsage())?.[1];
      if (used !== undefined) this.#config.stats[STAT_MEMORY] = Number(used);
    } catch {
      // keep the last sample
    }
  }

  #finish(exit: IsolateExit): void {
    if (this.#ended) return;
    this.#sampleMemory();
    this.#ended = true;
    this.#timers.clearAll();
    if (this.#memoryTimer) clearTimeout(this.#memoryTimer);
    try {
      this.#moduleResult?.dispose();
      this.#deliverFn?.dispose();
      this.#timerFn?.dispose();
      this.#ctx.dispose();
      this.#rt.dispose();
    } catch {
      // A VM that ended out of memory or in a trap may fail its own teardown; the worker's end frees it all anyway.
    }
    this.#cb.end(exit);
  }
}

function toWire(info: VmErrorInfo): WireError {
  const code = info.code?.startsWith('ERR_') ? info.code : ErrorCode.UNCAUGHT;
  return { code, message: info.message };
}
