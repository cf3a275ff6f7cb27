/**
 * The default isolation driver (spec 000 §2.1 "process driver: child_process or worker threads"): one
 * worker_thread per agent with V8 resourceLimits from `limits.memoryMb`, its own env (DI protocol, 000 §2.2),
 * and its stdout/stderr captured as the agent's log. Agent code is loaded by the host's module sandbox
 * (worker-entry.ts), which needs --experimental-vm-modules in the worker only.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Clock } from '../../clock.ts';
import { systemClock, unrefTimer, within } from '../../clock.ts';
import { ChannelEndpoint } from '../../core/channel-endpoint.ts';
import type { DaemonChannel, DaemonSide } from '../../core/channel-methods.ts';
import type { ChannelMessage, IChannelPort } from '../../core/channel-messages.ts';
import { bootstrapOf } from '../bootstrap-of.ts';
import type { IIsolate, IIsolationDriver, IsolateExit, IsolateOutput, IsolateSpec, IsolateUsage } from '../isolation-driver.ts';
import { workerErrorExit } from '../worker-error-exit.ts';
import { pipeLines } from '../line-splitter.ts';
import { ReceivedCap } from '../received-cap.ts';
import type { SpareAssignment } from './spare-protocol.ts';
import { SPARE_WAITING } from './spare-protocol.ts';

export interface WorkerDriverOptions {
  /** The worker's entry module. Default: agent-host.cjs beside the bundle, or worker-entry-source.mjs from source. */
  entry?: URL;
  /** Extra execArgv for the worker. */
  execArgv?: readonly string[];
  /**
   * Workers kept booted and waiting, so a spawn skips thread start-up (~30-40 ms here). Each costs ~10 MB of RSS
   * while idle, so the default is none. Spares are made for `spareMemoryMb`; an agent with another memory limit
   * gets a cold start, because V8 resource limits are fixed when a thread is created.
   */
  warmSpares?: number;
  spareMemoryMb?: number;
  /**
   * Spares made once, at construction, and not replaced: the daemon creates the driver at the start of its boot so
   * the master agent's thread boots while the board, HAL and design phases run (spec 002 phase 3 then only hands
   * it the blueprint).
   */
  bootSpares?: number;
  /** The clock usage()'s wait for an isolate's memory answer runs on (default: the system clock). */
  clock?: Clock;
  /**
   * Called as each worker thread is created; the function it returns once that worker has sent its first message
   * (an agent's first message comes once its host has loaded: the agent is starting or running; a spare's once it
   * has been assigned) or has ended. The daemon turns its V8 options off in between (runtime/daemon/node-flags.ts):
   * a thread booting under them compiles Node's own modules from source.
   */
  bootWindow?: () => () => void;
  /** How long a thread booted by prewarm() waits for its spawn before it is ended (default PREWARM_TTL_MS). */
  prewarmTtlMs?: number;
}

/** A prewarmed thread not taken by then is ended: its spawn failed or went to another driver or memory class. */
export const PREWARM_TTL_MS = 5000;

/** The young generation of a worker agent with `memoryMb` of old generation (see #createWorker). */
export function youngGenerationMb(memoryMb: number): number {
  return Math.max(1, Math.min(8, Math.floor(memoryMb / 32)));
}

export function defaultWorkerEntry(): URL {
  const bundled = new URL('./agent-host.cjs', import.meta.url);
  if (import.meta.url.endsWith('.js') && existsSync(fileURLToPath(bundled))) return bundled;
  return new URL('./worker-entry-source.mjs', import.meta.url);
}

export class WorkerDriver implements IIsolationDriver {
  readonly name = 'worker' as const;
  readonly #entry: URL;
  readonly #execArgv: string[];
  #warmSpares: number;
  readonly #spareMemoryMb: number;
  readonly #spares = new Set<Worker>();
  readonly #clock: Clock;
  readonly #bootWindow: (() => () => void) | undefined;
  readonly #prewarmTtlMs: number;
  /** The one thread prewarm() booted, until a start takes it or its time is up. */
  #prewarmed: { worker: Worker; timer: unknown; ended: () => void } | undefined;
  /** What each waiting spare listens to while it waits, removed when it is taken (not the boot window's listeners). */
  readonly #waiting = new WeakMap<Worker, () => void>();
  #closed = false;

  constructor(options: WorkerDriverOptions = {}) {
    this.#entry = options.entry ?? defaultWorkerEntry();
    // No V8 flag is set here: every flag changed makes the workers after it remake Node's cached builtins once
    // (issue 12); the daemon's own, set once it is ready (daemon/node-flags.ts), are the only ones. The host collects
    // a busy agent's heap without --expose-gc (host/heap-hygiene.ts).
    // The parent's flags are not inherited: a test runner's loader has no business in an agent's isolate.
    this.#execArgv = ['--experimental-vm-modules', '--no-warnings', ...(options.execArgv ?? [])];
    this.#warmSpares = options.warmSpares ?? 0;
    this.#spareMemoryMb = options.spareMemoryMb ?? 64;
    this.#clock = options.clock ?? systemClock;
    this.#bootWindow = options.bootWindow;
    this.#prewarmTtlMs = options.prewarmTtlMs ?? PREWARM_TTL_MS;
    for (let i = 0; i < (options.bootSpares ?? 0); i++) this.#addSpare();
    this.#refill();
  }

  /** Changes how many spares are kept (e.g. `agents.warmSpares: auto` after the rules change): more are booted now,
   *  those above the new count are terminated. */
  setWarmSpares(count: number): void {
    this.#warmSpares = count;
    for (const spare of [...this.#spares].slice(count)) {
      this.#spares.delete(spare);
      const gone = this.#waiting.get(spare);
      if (gone) spare.off('exit', gone); // the boot window's listener stays: it closes as the thread ends
      void spare.terminate();
    }
    this.#refill();
  }

  /** Spares booted and waiting right now (a prewarmed thread included). */
  get spares(): number {
    return this.#spares.size + (this.#prewarmed ? 1 : 0);
  }

  /**
   * A spawn is reading its blueprint (IIsolationDriver.prewarm): boot its thread now, as a spare, so the thread's
   * start (~40 ms) and the daemon's reading, checking and admitting of the agent overlap (issue 12). Only for the spare memory class, when no spare is waiting; at most one such thread,
   * ended after prewarmTtlMs if no start takes it.
   */
  prewarm(memoryMb: number): void {
    if (this.#closed || memoryMb !== this.#spareMemoryMb || this.#spares.size > 0 || this.#prewarmed) return;
    const worker = this.#createWorker(this.#spareMemoryMb, SPARE_WAITING, {}, 'agent:spare');
    const timer = this.#clock.setTimeout(() => this.#dropPrewarmed(), this.#prewarmTtlMs);
    unrefTimer(timer);
    const ended = () => {
      if (this.#prewarmed?.worker === worker) this.#dropPrewarmed();
    };
    worker.once('exit', ended);
    worker.on('error', ended); // an unhandled 'error' would throw; 'exit' follows it
    this.#prewarmed = { worker, timer, ended };
  }

  async start(spec: IsolateSpec): Promise<IIsolate> {
    const { blueprint } = spec;
    const bootstrap = bootstrapOf(spec);
    // The snapshot travels in the structured clone (worker data or the spare's assignment), which has no frame cap;
    // the process and docker drivers' framed bootstrap leaves it to `state.load`.
    if (spec.initialState !== undefined) bootstrap.initialState = spec.initialState;
    const memoryMb = blueprint.manifest.limits.memoryMb;
    const spare = memoryMb === this.#spareMemoryMb ? (this.#takePrewarmed() ?? this.#takeSpare()) : undefined;
    if (spare) {
      const assignment: SpareAssignment = { t: 'bootstrap', bootstrap, env: { ...spec.env } };
      spare.postMessage(assignment);
      setImmediate(() => this.#refill());
      return new WorkerIsolate(spare, this.#clock, spec.maxMessageBytes);
    }
    return new WorkerIsolate(this.#createWorker(memoryMb, bootstrap, { ...spec.env }, `agent:${blueprint.manifest.id}:${spec.pid}`), this.#clock, spec.maxMessageBytes);
  }

  /** Terminates the waiting spares; no new ones are made. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    const prewarmed = this.#prewarmed?.worker;
    this.#dropPrewarmed();
    if (prewarmed) await prewarmed.terminate();
    const spares = [...this.#spares];
    this.#spares.clear();
    await Promise.all(spares.map((w) => w.terminate()));
  }

  #createWorker(memoryMb: number, workerData: unknown, env: Record<string, string>, name: string): Worker {
    const booted = this.#bootWindow?.();
    let worker: Worker;
    try {
      worker = this.#newWorker(memoryMb, workerData, env, name);
    } catch (err) {
      booted?.();
      throw err;
    }
    if (booted) {
      const done = () => {
        worker.off('message', done);
        worker.off('exit', done);
        booted();
      };
      worker.on('message', done);
      worker.on('exit', done);
    }
    return worker;
  }

  #newWorker(memoryMb: number, workerData: unknown, env: Record<string, string>, name: string): Worker {
    return new Worker(this.#entry, {
      workerData,
      env,
      execArgv: this.#execArgv,
      stdout: true,
      stderr: true,
      resourceLimits: {
        maxOldGenerationSizeMb: memoryMb,
        // The young generation scales with the limit, 1/32 of it (2 MB for the default 64 MB), between 1 and 8 MB.
        // V8 grows an agent's young generation towards its maximum as the agent works and keeps it; at 1/8 (8 MB
        // for 64 MB) the 30-minute soak saw ten 10 Hz sensor agents grow the daemon's RSS for as long as it ran
        // (README "Performance" > Soak). A sensor agent's short-lived objects fit in far less.
        maxYoungGenerationSizeMb: youngGenerationMb(memoryMb),
        stackSizeMb: 4,
      },
      name,
    });
  }

  #takePrewarmed(): Worker | undefined {
    const prewarmed = this.#prewarmed;
    if (!prewarmed) return undefined;
    this.#prewarmed = undefined;
    this.#clock.clearTimeout(prewarmed.timer);
    prewarmed.worker.off('exit', prewarmed.ended);
    prewarmed.worker.off('error', prewarmed.ended);
    return prewarmed.worker;
  }

  /** Ends the prewarmed thread (its time is up, it died, or the driver closes). */
  #dropPrewarmed(): void {
    const prewarmed = this.#prewarmed;
    if (!prewarmed) return;
    this.#prewarmed = undefined;
    this.#clock.clearTimeout(prewarmed.timer);
    void prewarmed.worker.terminate();
  }

  #takeSpare(): Worker | undefined {
    const [spare] = this.#spares;
    if (!spare) return undefined;
    this.#spares.delete(spare);
    const gone = this.#waiting.get(spare);
    if (gone) {
      spare.off('exit', gone);
      spare.off('error', gone);
    }
    return spare;
  }

  #refill(): void {
    while (!this.#closed && this.#spares.size < this.#warmSpares) this.#addSpare();
  }

  #addSpare(): void {
    const spare = this.#createWorker(this.#spareMemoryMb, SPARE_WAITING, {}, 'agent:spare');
    // A spare that dies while waiting (it should not) is simply replaced by the next refill.
    const gone = () => this.#spares.delete(spare);
    spare.once('exit', gone);
    spare.on('error', gone);
    this.#waiting.set(spare, gone);
    this.#spares.add(spare);
  }
}

/** How long a usage sample waits for a busy isolate to report its memory. */
export const USAGE_TIMEOUT_MS = 1000;

async function askMemory(channel: DaemonChannel): Promise<number | undefined> {
  try {
    const answer = (await channel.request('agent.usage')) as { memoryBytes?: unknown } | undefined;
    return typeof answer?.memoryBytes === 'number' && Number.isFinite(answer.memoryBytes) ? answer.memoryBytes : undefined;
  } catch {
    return undefined;
  }
}

class WorkerIsolate implements IIsolate {
  readonly channel: DaemonChannel;
  readonly exited: Promise<IsolateExit>;
  readonly #worker: Worker;
  readonly #clock: Clock;
  readonly #outputListeners: ((o: IsolateOutput) => void)[] = [];
  #lastElu: ReturnType<Worker['performance']['eventLoopUtilization']> | undefined;
  #memoryQuestion: Promise<number | undefined> | undefined;
  #memoryBytes = 0;
  #ended = false;

  constructor(worker: Worker, clock: Clock, maxMessageBytes?: number) {
    this.#worker = worker;
    this.#clock = clock;
    const cap = new ReceivedCap(maxMessageBytes, () => void worker.terminate());
    const port: IChannelPort = {
      post: (message: ChannelMessage, transfer?: readonly ArrayBuffer[]) => worker.postMessage(message, transfer ? [...transfer] : undefined),
      onMessage: (handler) => {
        worker.on('message', cap.filter(handler));
      },
      close: () => undefined,
    };
    this.channel = new ChannelEndpoint<DaemonSide>(port);
    cap.watch(this.channel);
    let error: IsolateExit['error'];
    let cause: IsolateExit['cause'] = 'exit';
    worker.on('error', (err: Error & { code?: string }) => {
      ({ cause, error } = workerErrorExit(err));
    });
    for (const stream of ['stdout', 'stderr'] as const) {
      pipeLines(worker[stream], (line) => {
        for (const l of this.#outputListeners) l({ stream, line });
      });
    }
    this.exited = new Promise((resolve) => {
      worker.once('exit', (code) => {
        this.#ended = true;
        this.channel.close('isolate exited');
        resolve(cap.exit(code) ?? (error === undefined ? { code, cause } : { code, cause, error }));
      });
    });
  }

  async terminate(): Promise<void> {
    if (!this.#ended) await this.#worker.terminate();
    await this.exited;
  }

  /**
   * CPU comes from the thread's event-loop utilisation, measured from outside; memory has to be asked inside
   * (Node 20 has no worker.getHeapStatistics). A busy agent may not answer: then the last known memory is
   * reported, at most one question is outstanding, and it gives up after USAGE_TIMEOUT_MS.
   */
  async usage(): Promise<IsolateUsage> {
    const elu = this.#worker.performance.eventLoopUtilization();
    const delta = this.#lastElu ? this.#worker.performance.eventLoopUtilization(elu, this.#lastElu) : elu;
    this.#lastElu = elu;
    const cpuPercent = Math.round(delta.utilization * 1000) / 10;
    this.#memoryQuestion ??= askMemory(this.channel).finally(() => (this.#memoryQuestion = undefined));
    const memory = await within(this.#clock, USAGE_TIMEOUT_MS, this.#memoryQuestion, { unref: true });
    if (memory !== undefined) this.#memoryBytes = memory;
    return { cpuPercent, memoryBytes: this.#memoryBytes };
  }

  onOutput(listener: (output: IsolateOutput) => void): void {
    this.#outputListeners.push(listener);
  }
}
