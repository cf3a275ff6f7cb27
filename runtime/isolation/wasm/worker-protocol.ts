/** Messages between the wasm driver (daemon main thread) and the worker thread that hosts one agent's QuickJS VM. */
import type { ChannelMessage } from '../../core/channel-messages.ts';
import type { WireError } from '../../core/errors.ts';
import type { IsolateExit } from '../isolation-driver.ts';

export interface VmWorkerData {
  /** Compiled once by the driver and shared: a worker instantiates it, it does not compile it again. */
  wasmModule: WebAssembly.Module;
  /** limits.memoryMb in bytes: the cap of the VM's WebAssembly memory and QuickJS's own malloc limit. */
  memoryBytes: number;
  /** Longest a single turn of agent code (a callback and the promise jobs it queues) may run. */
  deadlineMs: number;
  /** The esbuild bundle (one ES module), or the refusal that stopped it being made. */
  bundle: string | { failure: WireError };
  /** maxMessageBytes: the largest channel message the agent may send (agents.maxMessageBytes; message-cap.ts). */
  bootstrap: { pid: string; agentId: string; config: Record<string, unknown>; env: Record<string, string>; maxMessageBytes?: number };
  /**
   * Float64Array view, written by the worker: [0] milliseconds spent executing in the VM so far, [1] QuickJS's
   * memory_used_size (updated at most every MEMORY_SAMPLE_MS after a turn). The driver reads it without asking, so a
   * usage sample never waits on a busy agent.
   */
  stats: SharedArrayBuffer;
}

export const STAT_VM_MS = 0;
export const STAT_MEMORY = 1;
export const MEMORY_SAMPLE_MS = 200;

export type ToWorker = { k: 'ch'; m: ChannelMessage };

export type FromWorker =
  | { k: 'ch'; m: ChannelMessage }
  | { k: 'out'; stream: 'stdout' | 'stderr'; line: string }
  | { k: 'end'; exit: IsolateExit };
