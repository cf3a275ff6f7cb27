/**
 * The default isolation driver (spec 000 §2.1 "process driver: child_process or worker threads"): one
 * worker_thread per agent with V8 resourceLimits from `limits.memoryMb`, its own env (DI protocol, 000 §2.2),
 * and its stdout/stderr captured as the agent's log. Agent code is loaded by the host's module sandbox
 * (worker-entry.ts), which needs --experimental-vm-modules in the worker only.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ChannelEndpoint } from '../../core/channel-endpoint.ts';
import type { ChannelMessage, IChannelPort } from '../../core/channel-messages.ts';
import type { HostBootstrap } from '../host/agent-host.ts';
import type { IIsolate, IIsolationDriver, IsolateExit, IsolateOutput, IsolateSpec, IsolateUsage } from '../isolation-driver.ts';
import { LineSplitter } from './line-splitter.ts';

export interface WorkerDriverOptions {
  /** The worker's entry module. Default: agent-host.js beside the bundle, or worker-entry-source.mjs from source. */
  entry?: URL;
  /** Extra execArgv for the worker. */
  execArgv?: readonly string[];
}

export function defaultWorkerEntry(): URL {
  const bundled = new URL('./agent-host.js', import.meta.url);
  if (import.meta.url.endsWith('.js') && existsSync(fileURLToPath(bundled))) return bundled;
  return new URL('./worker-entry-source.mjs', import.meta.url);
}

export class WorkerDriver implements IIsolationDriver {
  readonly name = 'worker' as const;
  readonly #entry: URL;
  readonly #execArgv: string[];

  constructor(options: WorkerDriverOptions = {}) {
    this.#entry = options.entry ?? defaultWorkerEntry();
    // The parent's flags are not inherited: a test runner's loader has no business in an agent's isolate.
    this.#execArgv = ['--experimental-vm-modules', '--no-warnings', ...(options.execArgv ?? [])];
  }

  async start(spec: IsolateSpec): Promise<IIsolate> {
    const { blueprint } = spec;
    const bootstrap: HostBootstrap = {
      pid: spec.pid,
      agentId: blueprint.manifest.id,
      rootDir: blueprint.rootDir,
      plugins: blueprint.manifest.plugins,
      files: blueprint.files,
      config: blueprint.manifest.config as HostBootstrap['config'],
    };
    const memoryMb = blueprint.manifest.limits.memoryMb;
    const worker = new Worker(this.#entry, {
      workerData: bootstrap,
      env: { ...spec.env },
      execArgv: this.#execArgv,
      stdout: true,
      stderr: true,
      resourceLimits: {
        maxOldGenerationSizeMb: memoryMb,
        // A small young generation keeps idle RSS low; V8 caps it below old space anyway.
        maxYoungGenerationSizeMb: Math.max(1, Math.min(8, Math.floor(memoryMb / 8))),
        stackSizeMb: 4,
      },
      name: `agent:${blueprint.manifest.id}:${spec.pid}`,
    });
    return new WorkerIsolate(worker);
  }
}

class WorkerIsolate implements IIsolate {
  readonly channel: ChannelEndpoint;
  readonly exited: Promise<IsolateExit>;
  readonly #worker: Worker;
  readonly #outputListeners: ((o: IsolateOutput) => void)[] = [];
  #lastElu: ReturnType<Worker['performance']['eventLoopUtilization']> | undefined;
  #ended = false;

  constructor(worker: Worker) {
    this.#worker = worker;
    const port: IChannelPort = {
      post: (message: ChannelMessage, transfer?: readonly ArrayBuffer[]) => worker.postMessage(message, transfer ? [...transfer] : undefined),
      onMessage: (handler) => {
        worker.on('message', handler);
      },
      close: () => undefined,
    };
    this.channel = new ChannelEndpoint(port);
    let error: IsolateExit['error'];
    let cause: IsolateExit['cause'] = 'exit';
    worker.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'ERR_WORKER_OUT_OF_MEMORY') {
        cause = 'out-of-memory';
        error = { code: 'ERR_WORKER_OUT_OF_MEMORY', message: err.message };
      } else {
        cause = 'uncaught-error';
        error = { code: typeof err.code === 'string' ? err.code : 'ERR_UNCAUGHT', message: err.message };
      }
    });
    for (const stream of ['stdout', 'stderr'] as const) {
      const splitter = new LineSplitter((line) => {
        for (const l of this.#outputListeners) l({ stream, line });
      });
      worker[stream].on('data', (chunk: Buffer) => splitter.push(chunk));
      worker[stream].on('end', () => splitter.end());
    }
    this.exited = new Promise((resolve) => {
      worker.once('exit', (code) => {
        this.#ended = true;
        this.channel.close('isolate exited');
        resolve(error === undefined ? { code, cause } : { code, cause, error });
      });
    });
  }

  async terminate(): Promise<void> {
    if (!this.#ended) await this.#worker.terminate();
    await this.exited;
  }

  async usage(): Promise<IsolateUsage> {
    const elu = this.#worker.performance.eventLoopUtilization();
    const delta = this.#lastElu ? this.#worker.performance.eventLoopUtilization(elu, this.#lastElu) : elu;
    this.#lastElu = elu;
    const { memoryBytes } = await this.channel.request<{ memoryBytes: number }>('agent.usage');
    return { cpuPercent: Math.round(delta.utilization * 1000) / 10, memoryBytes };
  }

  onOutput(listener: (output: IsolateOutput) => void): void {
    this.#outputListeners.push(listener);
  }
}
