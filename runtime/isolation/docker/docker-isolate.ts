/**
 * One running agent container, as the supervisor sees an isolate: the channel over the mounted socket, the
 * container's output as lines, its exit mapped to IsolateExit, usage from the engine's stats.
 *
 * Exit mapping: the cgroup's OOM killer (State.OOMKilled) or V8's own heap limit (`--max-old-space-size`; Node
 * aborts with "JavaScript heap out of memory") -> 'out-of-memory'; a `host.fatal` note (the entry's uncaught
 * exception / unhandled rejection handler) -> 'uncaught-error' with that WireError; anything else -> 'exit'
 * with the container's exit code. The container is removed before `exited` settles, so "exited" means "gone".
 */
import { PassThrough } from 'node:stream';
import { rm } from 'node:fs/promises';
import type { Server } from 'node:net';
import type Docker from 'dockerode';
import type { Clock } from '../../clock.ts';
import { systemClock, within } from '../../clock.ts';
import { ChannelEndpoint } from '../../core/channel-endpoint.ts';
import { ErrorCode } from '../../core/errors.ts';
import type { DaemonChannel, DaemonSide } from '../../core/channel-methods.ts';
import type { WireError } from '../../core/errors.ts';
import type { IIsolate, IsolateExit, IsolateOutput, IsolateUsage } from '../isolation-driver.ts';
import { pipeLines } from '../line-splitter.ts';
import { FATAL_NOTE, fatalError } from './container-protocol.ts';
import type { SocketPort } from './socket-port.ts';
import { isGone } from './engine-errors.ts';
import { cpuPercentBetween } from './container-stats.ts';
import { ReceivedCap } from '../received-cap.ts';
import type { CpuSample } from './container-stats.ts';

/** How long the end of the output stream is awaited after the container exited (last lines of a crash). */
const OUTPUT_DRAIN_MS = 2000;
const OOM_CODE = ErrorCode.CONTAINER_OUT_OF_MEMORY;
const HEAP_OOM = /JavaScript heap out of memory|Reached heap limit/;

export interface DockerIsolateParts {
  container: Docker.Container;
  port: SocketPort;
  server: Server;
  channelDir: string;
  output: NodeJS.ReadableStream;
  osPid: number | undefined;
  memoryLimitBytes: number;
  /** The frame decoder's limit (agents.maxMessageBytes): the cap reported in message-too-large. */
  maxMessageBytes?: number;
  /** The clock the wait for the output's end after an exit runs on (default: the system clock). */
  clock?: Clock;
}

export class DockerIsolate implements IIsolate {
  readonly channel: DaemonChannel;
  readonly osPid?: number;
  readonly exited: Promise<IsolateExit>;
  readonly channelDir: string;
  readonly #container: Docker.Container;
  readonly #listeners: ((o: IsolateOutput) => void)[] = [];
  #fatal: WireError | undefined;
  readonly #cap: ReceivedCap;
  #heapOom = false;
  #lastCpu: CpuSample | undefined;
  #memoryBytes = 0;
  #killed = false;

  constructor(parts: DockerIsolateParts) {
    this.#container = parts.container;
    this.channelDir = parts.channelDir;
    if (parts.osPid !== undefined) this.osPid = parts.osPid;
    this.channel = new ChannelEndpoint<DaemonSide>(parts.port);
    this.#cap = new ReceivedCap(parts.maxMessageBytes, () => void this.terminate().catch(() => undefined));
    this.#cap.watch(this.channel);
    this.channel.onNote(FATAL_NOTE, (p) => {
      this.#fatal ??= fatalError(p) ?? { code: ErrorCode.UNCAUGHT, message: 'the agent reported a fatal error without details' };
    });
    // The socket gone means no HAL call will be answered: pending requests fail now, not when the container ends.
    // A container that sent garbage is broken or hostile: it is killed, with the framing error as its reason.
    void parts.port.closed.then((reason) => {
      this.channel.close(`channel socket ended: ${reason}`);
      if (parts.port.tooLarge !== undefined) this.#cap.refuse(parts.port.tooLarge);
      else if (reason.startsWith('framing error')) {
        this.#fatal ??= { code: ErrorCode.CHANNEL_PROTOCOL, message: `the agent broke the channel protocol (${reason}); container killed` };
        void this.terminate().catch(() => undefined);
      }
    });
    const outputEnded = this.#pipeOutput(parts.output);
    this.exited = this.#watch(parts, outputEnded);
  }

  get containerId(): string {
    return this.#container.id;
  }

  async terminate(): Promise<void> {
    if (!this.#killed) {
      this.#killed = true;
      try {
        await this.#container.kill({ signal: 'SIGKILL' });
      } catch (err) {
        // Already ended by itself (Docker answers 409, podman 500 "container state improper: stopped"): fine.
        const running = isGone(err) ? false : await this.#container.inspect().then((i) => i.State.Running, () => false);
        if (running) throw err;
      }
    }
    await this.exited;
  }

  /** CPU from the delta of the container's cpu_usage between two samples; memory as memory_stats.usage. */
  async usage(): Promise<IsolateUsage> {
    try {
      const stats = (await this.#container.stats({ stream: false })) as unknown as StatsLike;
      const sample: CpuSample = { cpuNs: stats.cpu_stats?.cpu_usage?.total_usage ?? 0, systemNs: stats.cpu_stats?.system_cpu_usage ?? 0, onlineCpus: stats.cpu_stats?.online_cpus ?? 1 };
      const previous = this.#lastCpu ?? { cpuNs: stats.precpu_stats?.cpu_usage?.total_usage ?? 0, systemNs: stats.precpu_stats?.system_cpu_usage ?? 0, onlineCpus: sample.onlineCpus };
      this.#lastCpu = sample;
      const memory = stats.memory_stats?.usage;
      if (typeof memory === 'number' && Number.isFinite(memory)) this.#memoryBytes = memory;
      return { cpuPercent: cpuPercentBetween(previous, sample), memoryBytes: this.#memoryBytes };
    } catch {
      // The container is ending or the engine is busy: the last known memory, no CPU.
      return { cpuPercent: 0, memoryBytes: this.#memoryBytes };
    }
  }

  onOutput(listener: (output: IsolateOutput) => void): void {
    this.#listeners.push(listener);
  }

  #pipeOutput(stream: NodeJS.ReadableStream): Promise<void> {
    const out = new PassThrough();
    const err = new PassThrough();
    for (const [name, pass] of [['stdout', out], ['stderr', err]] as const) {
      pipeLines(pass, (line) => {
        if (name === 'stderr' && HEAP_OOM.test(line)) this.#heapOom = true;
        for (const l of this.#listeners) l({ stream: name, line });
      });
    }
    this.#container.modem.demuxStream(stream, out, err);
    return new Promise<void>((resolve) => {
      const done = () => {
        out.end();
        err.end();
        resolve();
      };
      stream.once('end', done);
      stream.once('close', done);
      stream.once('error', done);
    });
  }

  async #watch(parts: DockerIsolateParts, outputEnded: Promise<void>): Promise<IsolateExit> {
    let code: number;
    let oomKilled = false;
    try {
      const result = (await this.#container.wait()) as { StatusCode?: number };
      code = typeof result.StatusCode === 'number' ? result.StatusCode : 1;
      const info = await this.#container.inspect().catch(() => undefined);
      oomKilled = info?.State.OOMKilled === true;
    } catch (err) {
      code = 1;
      this.#fatal ??= { code: ErrorCode.CONTAINER_LOST, message: `lost track of the agent's container: ${(err as Error).message}` };
    }
    await within(parts.clock ?? systemClock, OUTPUT_DRAIN_MS, outputEnded, { unref: true });
    this.channel.close('isolate exited');
    parts.server.close();
    await this.#container.remove({ force: true }).catch(() => undefined);
    await rm(parts.channelDir, { recursive: true, force: true }).catch(() => undefined);
    const limit = Math.round(parts.memoryLimitBytes / (1024 * 1024));
    const refused = this.#cap.exit(code);
    if (refused) return refused;
    if (oomKilled) return { code, cause: 'out-of-memory', error: { code: OOM_CODE, message: `the container went over its ${limit} MiB memory limit and was killed` } };
    if (this.#heapOom) return { code, cause: 'out-of-memory', error: { code: OOM_CODE, message: 'the agent went over its JavaScript heap limit (limits.memoryMb)' } };
    // podman 4.3 with runc on cgroup v1 does not set State.OOMKilled although the kernel's OOM killer did kill
    // the container (checked: dmesg shows the memcg kill, inspect says false). Nothing in the agent can send
    // itself SIGKILL (process.kill is refused), and the driver records its own kills, so an unexplained
    // SIGKILL is taken for the OOM killer — and said to be an inference.
    if (code === 137 && !this.#killed) {
      return { code, cause: 'out-of-memory', error: { code: OOM_CODE, message: `the container was SIGKILLed by someone other than the daemon, most likely the kernel's OOM killer (memory limit ${limit} MiB; the engine did not report OOMKilled)` } };
    }
    if (this.#fatal) return { code, cause: 'uncaught-error', error: this.#fatal };
    return { code, cause: 'exit' };
  }
}

interface StatsLike {
  cpu_stats?: { cpu_usage?: { total_usage?: number }; system_cpu_usage?: number; online_cpus?: number };
  precpu_stats?: { cpu_usage?: { total_usage?: number }; system_cpu_usage?: number };
  memory_stats?: { usage?: number };
}
