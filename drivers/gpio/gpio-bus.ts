/**
 * GPIO bus contract (docs/ARCHITECTURE.md "Contract, real and sim bindings": interface only, no runtime code). Implemented by the real binding (onoff, Linux
 * sysfs GPIO) and the sim binding; both must pass drivers/gpio/gpio-contract.ts.
 *
 * Lines are addressed by their sysfs number (gpiochip runtime base + line offset), which the board profile
 * computes: on kernels >= 6.6 the base is no longer 0 (e.g. 512 on a Raspberry Pi 4, 569 for the Pi 5's RP1).
 */
export type GpioDirection = 'in' | 'out';
export type GpioEdge = 'none' | 'rising' | 'falling' | 'both';
export type GpioValue = 0 | 1;

export interface GpioLineOptions {
  direction: GpioDirection;
  /** Inputs only: which edges `watch` reports. Default 'none' (watch then throws ERR_DRIVER_INVALID_ARGUMENT). */
  edge?: GpioEdge;
  /** Invert the logical value (active-low wiring): read/write/watch then speak logical values. */
  activeLow?: boolean;
  /** Outputs only: the value driven as soon as the line is opened (no glitch through the opposite level). */
  initial?: GpioValue;
}

export interface GpioEdgeEvent {
  /** The logical value after the edge. */
  value: GpioValue;
  /** Monotonic milliseconds (performance.now() scale) when the binding saw the edge. */
  at: number;
}

export interface IGpioLine {
  readonly line: number;
  readonly options: Readonly<GpioLineOptions>;
  read(): Promise<GpioValue>;
  /** Outputs only; an input rejects with ERR_DRIVER_INVALID_ARGUMENT. Values other than 0/1 are rejected too. */
  write(value: GpioValue): Promise<void>;
  /** Calls `listener` for each configured edge until the returned function is called or the line is closed. */
  watch(listener: (event: GpioEdgeEvent) => void): () => void;
  /**
   * Unexports the line. Watchers stop; pending reads/writes settle first; later calls reject with
   * ERR_DRIVER_CLOSED. An output is left at its last value (driving it to a safe state is the HAL's job, before
   * close). Idempotent.
   */
  close(): Promise<void>;
}

export interface IGpioBus {
  /** Opens (exports) a line. Opening a line that is already open through this bus rejects with ERR_DRIVER_OPEN_FAILED. */
  open(line: number, options: GpioLineOptions): Promise<IGpioLine>;
  /** Closes every line still open. Idempotent. */
  close(): Promise<void>;
}
