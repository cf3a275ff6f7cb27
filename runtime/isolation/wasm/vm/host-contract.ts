/**
 * The contract between the worker that hosts a QuickJS VM (../host-bridge.ts installs it) and the runtime inside it
 * (host-api.ts): the name of the global the host functions are installed under, and their shapes. No side effects:
 * both sides import it.
 */
export const HOST_GLOBAL = '__openstarryHost';

export interface VmErrorInfo {
  name: string;
  message: string;
  code?: string;
  stack?: string;
}

export interface VmHostApi {
  /** The agent's bootstrap (pid, agentId, config, plugin paths) as JSON. */
  bootstrap(): string;
  /** A channel message to the daemon: JSON plus its ArrayBuffers (message-codec.ts). */
  post(json: string, ...buffers: ArrayBuffer[]): void;
  /** Registers the VM's receiver of daemon messages. */
  onDeliver(deliver: (json: string, ...buffers: ArrayBuffer[]) => void): void;
  /** Arms (or re-arms) host timer `id`; `ref` false = does not keep the agent alive (Timeout.unref()). */
  setTimer(id: number, ms: number, ref: boolean): void;
  clearTimer(id: number): void;
  /** Registers the VM's timer dispatcher. */
  onTimer(fire: (id: number) => void): void;
  /** console output, one or more lines. */
  write(stream: 'stdout' | 'stderr', text: string): void;
  /** True while the agent's own requests or subscriptions are pending (keeps an otherwise idle agent alive). */
  keepAlive(on: boolean): void;
  /** Ends the agent at the end of the current turn. */
  exit(code: number): void;
  /** An error nobody caught (a microtask, a timer callback's rejected promise): ends the agent. */
  uncaught(info: VmErrorInfo): void;
  /** Monotonic milliseconds (performance.now of the hosting thread). */
  now(): number;
}
