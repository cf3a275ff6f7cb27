/**
 * Camera stream from a command that writes MJPEG to stdout (ffmpeg from V4L2 by default; `rpicam-vid --codec
 * mjpeg -o -` on a Pi camera), split into frames by JpegSplitter.
 *
 * Lifecycle: the process starts with the first subscriber and gets SIGTERM when the last one leaves (SIGKILL
 * after killTimeoutMs if it ignores that). A subscriber arriving while the old process is still stopping waits
 * for it: a V4L2 device is exclusive, so two overlapping processes would fail with EBUSY. If the process ends
 * on its own while subscribed, every subscriber's onError gets a DriverError (IO; UNAVAILABLE when the command
 * could not be started) carrying the tail of stderr, the subscribers are dropped, and the next subscribe starts
 * a fresh process.
 *
 * snapshot(): the next frame of the stream, starting the stream for it (and stopping it after) if nobody is
 * subscribed. RealCamera prefers node-webcam for a snapshot when no stream is running.
 */
import type * as ChildProcess from 'node:child_process';
import type { SpawnOptions } from 'node:child_process';
import type { Readable } from 'node:stream';
import { systemClock, type Clock } from '../../runtime/clock.ts';
import { lazyBuiltin } from '../../runtime/lazy-builtin.ts';
import { DriverError, DriverErrorCode } from '../errors.ts';
import type { ICameraSource } from './camera-source.ts';
import { FrameFanout, type FrameErrorListener, type FrameListener } from './frame-fanout.ts';
import { JpegSplitter, type JpegSplitterStats } from './jpeg-splitter.ts';

/** The part of a ChildProcess this source uses, so tests can hand in a fake. */
export interface SpawnedProcess {
  readonly pid?: number | undefined;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  kill(signal?: NodeJS.Signals): boolean;
  on(event: 'exit', listener: (code: number | null, signal: NodeJS.Signals | null) => void): unknown;
  on(event: 'close', listener: (code: number | null, signal: NodeJS.Signals | null) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
}

// Loaded when a stream command first starts (lazy-builtin.ts): a board without such a camera never needs it.
const childProcess = lazyBuiltin<typeof ChildProcess>('node:child_process');

export type SpawnFn = (command: string, args: readonly string[], options: SpawnOptions) => SpawnedProcess;

export interface MjpegCommandSourceOptions {
  id: string;
  /** V4L2 device for the default command. Default /dev/video0. */
  device?: string;
  width?: number;
  height?: number;
  fps?: number;
  /** argv of the stream command (no shell); replaces the default ffmpeg command. */
  command?: readonly string[];
  spawn?: SpawnFn;
  clock?: Clock;
  /** SIGTERM -> SIGKILL grace. Default 3000 ms. */
  killTimeoutMs?: number;
  /** After the process exits, how long to wait for its pipes to close before closing them. Default 1000 ms. */
  pipeGraceMs?: number;
  /** snapshot() gives up with ERR_DRIVER_TIMEOUT after this. Default 10000 ms (ffmpeg + camera warm-up). */
  snapshotTimeoutMs?: number;
  maxFrameBytes?: number;
  /** How much of the end of stderr to keep for error messages. Default 4096 bytes. */
  stderrLimitBytes?: number;
}

export function defaultStreamCommand(device: string, width: number, height: number, fps: number): string[] {
  return [
    'ffmpeg', '-hide_banner', '-loglevel', 'error',
    '-f', 'v4l2', '-input_format', 'mjpeg', '-video_size', `${width}x${height}`, '-framerate', String(fps), '-i', device,
    // Re-encoded at a fixed quality so the frame size (and the HAL's transfer cost) is predictable.
    '-f', 'mjpeg', '-q:v', '5', '-',
  ];
}

/** One run of the command. */
interface Run {
  child: SpawnedProcess;
  /** We asked it to stop (last unsubscribe, close): its exit is not an error. */
  stopping: boolean;
  stderr: string;
  spawnError: Error | null;
  finished: boolean;
  done: Promise<void>;
  resolveDone: () => void;
  timers: unknown[];
}

export class MjpegCommandSource implements ICameraSource {
  readonly id: string;
  readonly #argv: readonly string[];
  readonly #spawn: SpawnFn;
  readonly #clock: Clock;
  readonly #killTimeoutMs: number;
  readonly #pipeGraceMs: number;
  readonly #snapshotTimeoutMs: number;
  readonly #stderrLimit: number;
  readonly #fanout = new FrameFanout();
  readonly #splitter: JpegSplitter;
  #run: Run | null = null;
  #seq = 0;
  #closing: Promise<void> | null = null;

  constructor(options: MjpegCommandSourceOptions) {
    this.id = options.id;
    const argv = options.command ?? defaultStreamCommand(options.device ?? '/dev/video0', options.width ?? 640, options.height ?? 480, options.fps ?? 15);
    if (argv.length === 0 || !argv.every((a) => typeof a === 'string') || argv[0] === '') {
      throw new DriverError(DriverErrorCode.INVALID_ARGUMENT, `camera ${this.id}: the stream command must be a non-empty argv array`);
    }
    this.#argv = [...argv];
    this.#spawn = options.spawn ?? (((command, args, spawnOptions) => childProcess().spawn(command, args, spawnOptions)) as SpawnFn);
    this.#clock = options.clock ?? systemClock;
    this.#killTimeoutMs = options.killTimeoutMs ?? 3000;
    this.#pipeGraceMs = options.pipeGraceMs ?? 1000;
    this.#snapshotTimeoutMs = options.snapshotTimeoutMs ?? 10_000;
    this.#stderrLimit = options.stderrLimitBytes ?? 4096;
    this.#splitter = new JpegSplitter((jpeg) => this.#fanout.emit({ jpeg, at: this.#clock.now(), seq: ++this.#seq }), {
      maxFrameBytes: options.maxFrameBytes,
    });
  }

  /** The command line this source runs. */
  get command(): readonly string[] {
    return this.#argv;
  }

  /** True while a process runs for current subscribers (not one that is being stopped). */
  get streaming(): boolean {
    return this.#run !== null && !this.#run.stopping;
  }

  /** The running process's pid, if any (test and diagnostics aid). */
  get pid(): number | undefined {
    return this.#run?.child.pid;
  }

  /** Frame counters of the splitter (frames, oversized, corrupt, skippedBytes). */
  get stats(): Readonly<JpegSplitterStats> {
    return this.#splitter.stats;
  }

  /** Resolves once no process is running (after the last unsubscribe, the process has exited). */
  async idle(): Promise<void> {
    while (this.#run) await this.#run.done;
  }

  subscribe(listener: FrameListener, onError?: FrameErrorListener): () => void {
    if (this.#closing) throw this.#closedError();
    const remove = this.#fanout.add(listener, onError);
    // A run that is stopping restarts from its exit handler, once the device is free again.
    if (!this.#run) this.#start();
    return () => {
      if (remove() && this.#fanout.size === 0 && this.#run) this.#stop(this.#run);
    };
  }

  snapshot(): Promise<Buffer> {
    if (this.#closing) return Promise.reject(this.#closedError());
    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (): void => {
        settled = true;
        this.#clock.clearTimeout(timer);
        unsubscribe();
      };
      const timer = this.#clock.setTimeout(() => {
        if (settled) return;
        finish();
        reject(new DriverError(DriverErrorCode.TIMEOUT, `camera ${this.id}: no frame within ${this.#snapshotTimeoutMs} ms`));
      }, this.#snapshotTimeoutMs);
      const unsubscribe = this.subscribe(
        (frame) => {
          if (settled) return;
          finish();
          resolve(frame.jpeg);
        },
        (err) => {
          if (settled) return;
          finish();
          reject(err);
        },
      );
    });
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#fanout.fail(this.#closedError());
      if (this.#run) this.#stop(this.#run);
      await this.idle();
    })();
    return this.#closing;
  }

  #start(): void {
    const [command, ...args] = this.#argv as [string, ...string[]];
    let resolveDone!: () => void;
    const done = new Promise<void>((resolve) => (resolveDone = resolve));
    this.#splitter.reset();
    let child: SpawnedProcess;
    try {
      // stdin ignored: ffmpeg reads commands ('q') from a stdin it is given.
      child = this.#spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      // Node throws synchronously only for bad arguments; report it like an exit.
      queueMicrotask(() => this.#fanout.fail(new DriverError(DriverErrorCode.UNAVAILABLE, `camera ${this.id}: cannot start ${command}: ${(err as Error).message}`, { cause: err })));
      return;
    }
    const run: Run = { child, stopping: false, stderr: '', spawnError: null, finished: false, done, resolveDone, timers: [] };
    this.#run = run;

    child.stdout?.on('data', (chunk: Buffer) => {
      if (this.#run === run && !run.stopping) this.#splitter.push(chunk);
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) => {
      run.stderr = (run.stderr + text).slice(-this.#stderrLimit);
    });
    child.on('error', (err) => {
      // Spawn failures (ENOENT, EACCES) come here with no exit; a failed kill() also does and changes nothing.
      if (child.pid === undefined) {
        run.spawnError = err;
        this.#finish(run, null, null);
      }
    });
    child.on('exit', () => {
      // 'close' follows once stdout and stderr are drained (so the last frames and stderr lines are in). A
      // grandchild that inherited the pipes could hold them open forever; close them ourselves after a grace.
      run.timers.push(
        this.#clock.setTimeout(() => {
          child.stdout?.destroy();
          child.stderr?.destroy();
        }, this.#pipeGraceMs),
      );
    });
    child.on('close', (code, signal) => this.#finish(run, code, signal));
  }

  #stop(run: Run): void {
    if (run.stopping || run.finished) return;
    run.stopping = true;
    run.child.kill('SIGTERM');
    run.timers.push(this.#clock.setTimeout(() => run.child.kill('SIGKILL'), this.#killTimeoutMs));
  }

  #finish(run: Run, code: number | null, signal: NodeJS.Signals | null): void {
    if (run.finished) return;
    run.finished = true;
    for (const timer of run.timers) this.#clock.clearTimeout(timer);
    if (this.#run === run) this.#run = null;
    run.resolveDone();

    if (!run.stopping) {
      this.#fanout.fail(this.#exitError(run, code, signal));
    } else if (this.#fanout.size > 0 && !this.#closing) {
      // Someone subscribed while the old process was stopping; the device is free now.
      this.#start();
    }
  }

  #exitError(run: Run, code: number | null, signal: NodeJS.Signals | null): DriverError {
    const stderr = run.stderr.trim();
    const detail = stderr ? `: ${stderr}` : '';
    if (run.spawnError) {
      return new DriverError(DriverErrorCode.UNAVAILABLE, `camera ${this.id}: cannot run ${this.#argv[0]}: ${run.spawnError.message}`, { cause: run.spawnError });
    }
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    return new DriverError(DriverErrorCode.IO, `camera ${this.id}: stream command ${how}${detail}`);
  }

  #closedError(): DriverError {
    return new DriverError(DriverErrorCode.CLOSED, `camera ${this.id} is closed`);
  }
}
