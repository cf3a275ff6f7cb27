/**
 * Isolation drivers behind one interface (spec 000 §2.1, docs/ARCHITECTURE.md "Isolation drivers"): worker (default), and later process,
 * docker and wasm. A driver starts an isolate for a blueprint and hands back the daemon's end of the channel.
 * Graceful stop is a channel request (`agent.stop`) the supervisor makes; `terminate()` is SIGKILL.
 */
import type { DaemonChannel } from '../core/channel-methods.ts';
import type { WireError } from '../core/errors.ts';
import type { JsonValue } from '../core/json-value.ts';
import type { Blueprint } from '../design/blueprint.ts';
import type { Isolation } from '../design/manifest-schema.ts';

export interface IsolateSpec {
  /** The daemon's id for this agent instance (what `ps` shows and `kill` takes). */
  pid: string;
  blueprint: Blueprint;
  /** DI protocol (spec 000 §2.2): OPENSTARRY_AGENT_ID and OPENSTARRY_HOME (the agent's own data dir). */
  env: { OPENSTARRY_AGENT_ID: string; OPENSTARRY_HOME: string };
  /** Largest message the isolate may send the daemon (agents.maxMessageBytes; default 1 MiB, message-cap.ts). */
  maxMessageBytes?: number;
  /**
   * The agent's last State Snapshot (null: none), read by the daemon at launch. A driver that hands it to its host
   * in the bootstrap saves the host's `state.load` round trip before `running` (issue 12); one that does not (or an
   * undefined here) leaves the host to ask for it, as before.
   */
  initialState?: JsonValue | null;
}

export interface IsolateExit {
  /** Exit code of the isolate: 0 for a clean end (stopped, or nothing left to do). */
  code: number;
  /** Set when the isolate died of an error: uncaught exception, unhandled rejection, out of memory. */
  error?: WireError;
  /** Short machine-readable cause; 'message-too-large': the agent sent more than maxMessageBytes (message-cap.ts). */
  cause: 'out-of-memory' | 'uncaught-error' | 'exit' | 'message-too-large';
}

export interface IsolateUsage {
  /** Share of one CPU core the isolate used since the previous sample, 0-100. */
  cpuPercent: number;
  memoryBytes: number;
}

/** A line the isolate wrote to its own stdout/stderr (console.log in agent code). */
export interface IsolateOutput {
  stream: 'stdout' | 'stderr';
  line: string;
}

export interface IIsolate {
  readonly channel: DaemonChannel;
  /** The OS process id when the isolate is its own process (process, docker drivers); absent for a worker. */
  readonly osPid?: number;
  /** Settles once, when the isolate has ended for any reason. Never rejects. */
  readonly exited: Promise<IsolateExit>;
  /** SIGKILL semantics: end now, no stop(ctx). Resolves when the isolate has ended. Idempotent. */
  terminate(): Promise<void>;
  usage(): Promise<IsolateUsage>;
  onOutput(listener: (output: IsolateOutput) => void): void;
}

export interface IIsolationDriver {
  readonly name: Isolation;
  /**
   * Memory an isolate of this driver uses before any agent code runs (a child process's own Node, a container's),
   * counted in usage().memoryBytes. The supervisor allows it on top of `limits.memoryMb`; 0 when absent.
   */
  readonly baselineMemoryBytes?: number;
  /**
   * True when the driver throttles an isolate to limits.cpuPercent itself (docker: NanoCpus, a cgroup quota), so
   * the supervisor does not stop agents for sustained CPU use. Absent/false (worker, process): the supervisor
   * watches usage().cpuPercent and stops an agent over its limit for agents.cpuLimitWindowMs (cpu-watch.ts).
   */
  readonly enforcesCpuLimit?: boolean;
  start(spec: IsolateSpec): Promise<IIsolate>;
  /**
   * A start of an isolate with this memory limit is likely soon (a spawn request is reading its blueprint): a driver
   * that can begin the slow part of a start ahead of the spec (the worker driver: the thread) does so, so the two
   * overlap. Optional; never required for a start.
   */
  prewarm?(memoryMb: number): void;
  /** Releases what the driver holds besides isolates (pools, connections). Idempotent. */
  close?(): Promise<void>;
}
