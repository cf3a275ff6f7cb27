/**
 * The process isolation driver (spec 000 §2.1, docs/ARCHITECTURE.md "Isolation drivers"): one child Node process per agent, running the same agent
 * host as a worker (module sandbox + hardened `process`) and, as a second wall that holds even if agent code
 * escapes the sandbox, Node's permission model (`--permission`; Node 20 spells it --experimental-permission, Node 24
 * knows only the new spelling: permission-flag.ts picks it by the runtime's version):
 *   - file reads: only the entry bundle (agent code arrives in the bootstrap message, from the blueprint's
 *     in-memory snapshot, so the child never reads the agent folder); no file writes at all (ctx.state persists
 *     through the daemon); no child processes, no worker threads, no native addons, no WASI, no inspector.
 *   - NOT covered by Node 20's permission model (checked): network (TCP and Unix sockets, so also the control
 *     socket's path) and signals to other processes (process.kill). The sandbox refuses those APIs to agent code;
 *     for an OS-level wall run the child as an unprivileged user (`runAs`), which the control socket (0660) and
 *     other users' processes then refuse.
 * Env: only the DI variables (spec 000 §2.2); no PATH. Memory: --max-old-space-size from limits.memoryMb; usage()
 * reads the child's RSS and CPU from /proc. The channel is a socket pair on the child's fd 3 carrying
 * length-prefixed frames (docker/frame-codec.ts, shared with the docker driver): buffers travel raw, and a frame
 * over agents.maxMessageBytes is refused from its prefix, before its bytes are buffered, and the child killed
 * (message-cap.ts). Not Node's IPC channel: that reads each message whole before anything can look at its size.
 */
import type * as ChildProcessModule from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import type { Clock } from '../../clock.ts';
import { systemClock, within } from '../../clock.ts';
import { lazyBuiltin } from '../../lazy-builtin.ts';
import { ChannelEndpoint } from '../../core/channel-endpoint.ts';
import { ErrorCode } from '../../core/errors.ts';
import type { DaemonChannel, DaemonSide } from '../../core/channel-methods.ts';
import type { WireError } from '../../core/errors.ts';
import { bootstrapOf } from '../bootstrap-of.ts';
import { BOOTSTRAP_NOTE, FATAL_NOTE, fatalError } from '../docker/container-protocol.ts';
import { SocketPort } from '../docker/socket-port.ts';
import type { IIsolate, IIsolationDriver, IsolateExit, IsolateOutput, IsolateSpec, IsolateUsage } from '../isolation-driver.ts';
import { pipeLines } from '../line-splitter.ts';
import { ReceivedCap } from '../received-cap.ts';
import type { EntryFile } from './process-entry-file.ts';
import { resolveEntryFile } from './process-entry-file.ts';
import { permissionFlag } from './permission-flag.ts';
import { sampleProc } from './proc-usage.ts';

// Loaded at the first `process` spawn: most boards run worker agents only (lazy-builtin.ts).
const childProcess = lazyBuiltin<typeof ChildProcessModule>('node:child_process');

export interface ProcessDriverOptions {
  /** The entry bundle. Default: dist/agent-process.mjs beside the daemon bundle, else built from source on the fly. */
  entry?: string;
  /** Run each child as this user/group (the daemon must be root). Default: the daemon's own user. */
  runAs?: { uid: number; gid: number };
  /** Extra Node flags (before the entry). The permission flags are always set and cannot be widened here. */
  execArgv?: readonly string[];
  /**
   * Command the child is started through, before `node`. Default on Linux: `/usr/bin/env -u NODE_OPTIONS`, so that
   * nothing that hooks spawn in the daemon (tap's process-info, APM agents) can inject NODE_OPTIONS (an --import
   * the permission model then refuses to read, or worse, one it would run): the isolate's flags are exactly
   * processIsolateArgs. `[]` spawns node directly. `env` execs node, so osPid is still node's pid.
   */
  launcher?: readonly string[];
  /** procfs root (tests). */
  procRoot?: string;
  /** How long usage() waits for a child to report its memory when procfs has nothing. */
  usageTimeoutMs?: number;
  /** The clock usage()'s wait runs on (default: the system clock). */
  clock?: Clock;
}

/** V8's fatal message when the heap limit is reached (then it aborts: SIGABRT). */
const ENV_BINARY = '/usr/bin/env';

export function defaultLauncher(): string[] {
  return existsSync(ENV_BINARY) ? [ENV_BINARY, '-u', 'NODE_OPTIONS'] : [];
}

const OOM_LINE = /JavaScript heap out of memory|Reached heap limit|Allocation failed - process out of memory/;

/**
 * The Node flags of a process isolate: the permission wall, the module sandbox's vm modules, the heap limit.
 * Exported so the security tests run a probe under exactly these flags. `nodeVersion` is the version of the Node
 * that runs the child (the daemon's own: process.execPath), which decides how the permission flag is spelled.
 */
export function processIsolateArgs(entry: string, memoryMb: number, extra: readonly string[] = [], nodeVersion: string = process.version): string[] {
  // Node 20 takes a comma-separated list: a comma in the path would grant something else.
  if (entry.includes(',')) throw new Error(`process isolate entry path must not contain a comma: ${entry}`);
  const semiSpaceMb = Math.max(1, Math.min(4, Math.floor(memoryMb / 32)));
  return [
    permissionFlag(nodeVersion),
    `--allow-fs-read=${entry}`,
    '--experimental-vm-modules',
    '--no-warnings',
    `--max-old-space-size=${memoryMb}`,
    `--max-semi-space-size=${semiSpaceMb}`,
    // No widening: no --allow-*, and no --permission-audit (Node 24: denials only logged, never thrown).
    ...extra.filter((flag) => !/^--(allow-|experimental-permission|permission)/.test(flag)),
    entry,
  ];
}

export class ProcessDriver implements IIsolationDriver {
  readonly name = 'process' as const;
  /** A child's own Node (measured idle: ~43 MB RSS on x86-64 Node 20), allowed on top of limits.memoryMb. */
  readonly baselineMemoryBytes = 48 * 1024 * 1024;
  readonly #options: ProcessDriverOptions;
  #entry: Promise<EntryFile> | undefined;
  #closed = false;

  constructor(options: ProcessDriverOptions = {}) {
    this.#options = options;
  }

  /** The entry bundle's path (built on first use when running from source). */
  async entryPath(): Promise<string> {
    const given = this.#options.entry;
    if (given !== undefined) return given;
    this.#entry ??= resolveEntryFile();
    this.#entry.catch(() => (this.#entry = undefined));
    return (await this.#entry).path;
  }

  async start(spec: IsolateSpec): Promise<IIsolate> {
    if (this.#closed) throw new Error('process driver closed');
    const { blueprint } = spec;
    const bootstrap = bootstrapOf(spec);
    const entry = await this.entryPath();
    const [command, ...launcherArgs] = [...(this.#options.launcher ?? defaultLauncher()), process.execPath];
    const args = [...launcherArgs, ...processIsolateArgs(entry, blueprint.manifest.limits.memoryMb, this.#options.execArgv)];
    const child = childProcess().spawn(command as string, args, {
      // fd 3: the channel (process-entry.ts CHANNEL_FD); libuv makes a 'pipe' a socket pair, so it is duplex.
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
      env: { OPENSTARRY_AGENT_ID: spec.env.OPENSTARRY_AGENT_ID, OPENSTARRY_HOME: spec.env.OPENSTARRY_HOME },
      cwd: '/',
      // Its own process group: a Ctrl-C in the daemon's terminal reaches the daemon, which stops agents with grace.
      detached: true,
      ...(this.#options.runAs ? { uid: this.#options.runAs.uid, gid: this.#options.runAs.gid } : {}),
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    }).finally(() => child.removeAllListeners('spawn'));
    const isolate = new ProcessIsolate(child, this.#options, spec.maxMessageBytes);
    isolate.port.post({ t: 'note', method: BOOTSTRAP_NOTE, params: bootstrap });
    return isolate;
  }

  /**
   * No new isolates; removes an entry built on the fly. Does not end live isolates (the supervisor does) and does
   * not wait for them: a child reads its entry once, at start, so removing the file does not disturb it.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const entry = await this.#entry?.catch(() => undefined);
    await entry?.dispose();
  }
}

/** Exit code as a shell reports it: 128 + the signal number for a process ended by a signal. */
function exitCode(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return signal ? 128 + (constants.signals[signal] ?? 0) : 1;
}

class ProcessIsolate implements IIsolate {
  readonly channel: DaemonChannel;
  readonly port: SocketPort;
  readonly osPid: number;
  readonly exited: Promise<IsolateExit>;
  readonly #child: ChildProcess;
  readonly #options: ProcessDriverOptions;
  readonly #outputListeners: ((o: IsolateOutput) => void)[] = [];
  #last: { at: number; cpuSeconds: number };
  #memoryBytes = 0;
  #ended = false;

  constructor(child: ChildProcess, options: ProcessDriverOptions, maxMessageBytes?: number) {
    this.#child = child;
    this.#options = options;
    this.osPid = child.pid as number;
    this.#last = { at: performance.now(), cpuSeconds: 0 };
    let fatal: WireError | undefined;
    let outOfMemory: string | undefined;
    const cap = new ReceivedCap(maxMessageBytes, () => void this.terminate());
    // The cap is the frame decoder's limit: a larger frame ends the port from its 8-byte prefix (frame-codec.ts).
    this.port = new SocketPort({ maxFrameBytes: cap.cap });
    this.port.attach(child.stdio[3] as Socket);
    void this.port.closed.then(() => {
      if (this.port.tooLarge !== undefined) cap.refuse(this.port.tooLarge);
    });
    // A failed kill of a child that already ended reports here; the exit handler below tells the story.
    child.on('error', () => undefined);
    this.channel = new ChannelEndpoint<DaemonSide>(this.port);
    cap.watch(this.channel);
    this.channel.onNote(FATAL_NOTE, (p) => {
      fatal ??= fatalError(p) ?? { code: ErrorCode.UNCAUGHT, message: 'the agent reported a fatal error without details' };
    });
    for (const stream of ['stdout', 'stderr'] as const) {
      pipeLines(child[stream], (line) => {
        if (stream === 'stderr' && OOM_LINE.test(line)) outOfMemory ??= line.trim();
        for (const l of this.#outputListeners) l({ stream, line });
      });
    }
    // 'close': the process has exited AND its stdout/stderr are drained (the OOM line is in by then).
    this.exited = new Promise((resolve) => {
      child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
        this.#ended = true;
        this.channel.close('isolate exited');
        const c = exitCode(code, signal);
        const refused = cap.exit(c);
        if (refused) resolve(refused);
        else if (outOfMemory !== undefined) resolve({ code: c, cause: 'out-of-memory', error: { code: ErrorCode.PROCESS_OUT_OF_MEMORY, message: outOfMemory } });
        else if (fatal) resolve({ code: c, cause: 'uncaught-error', error: fatal });
        else resolve({ code: c, cause: 'exit' });
      });
    });
  }

  async terminate(): Promise<void> {
    if (!this.#ended && this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
    await this.exited;
  }

  /**
   * CPU: utime+stime delta over wall time since the previous sample (the first covers the time since spawn).
   * Memory: the child's RSS — the whole process, Node's own ~40 MB included, not only the agent's heap.
   * Without procfs, memory is asked inside (agent.usage) and CPU reads 0.
   */
  async usage(): Promise<IsolateUsage> {
    const now = performance.now();
    const sample = this.#ended ? undefined : await sampleProc(this.osPid, this.#options.procRoot);
    if (sample) {
      const wall = (now - this.#last.at) / 1000;
      const cpuPercent = wall > 0 ? Math.max(0, Math.round(((sample.cpuSeconds - this.#last.cpuSeconds) / wall) * 1000) / 10) : 0;
      this.#last = { at: now, cpuSeconds: sample.cpuSeconds };
      this.#memoryBytes = sample.rssBytes;
      return { cpuPercent, memoryBytes: sample.rssBytes };
    }
    const answer = this.channel.request('agent.usage').then((a) => a as { memoryBytes?: unknown } | undefined, () => undefined);
    const memory = (await within(this.#options.clock ?? systemClock, this.#options.usageTimeoutMs ?? 1000, answer, { unref: true }))?.memoryBytes;
    if (typeof memory === 'number' && Number.isFinite(memory)) this.#memoryBytes = memory;
    return { cpuPercent: 0, memoryBytes: this.#memoryBytes };
  }

  onOutput(listener: (output: IsolateOutput) => void): void {
    this.#outputListeners.push(listener);
  }
}
