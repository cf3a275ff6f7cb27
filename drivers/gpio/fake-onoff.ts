/**
 * Test support: a stand-in for the `onoff` module over a model of the kernel's sysfs GPIO, so the onoff binding's
 * own code (option mapping, watch wiring, error wrapping) runs the GPIO contract on a machine without
 * /sys/class/gpio. Pins can be wired in pairs (output -> input), like the jumper the hardware run needs.
 *
 * Modelled after drivers/gpio/gpiolib-sysfs.c and onoff 6:
 * - direction "high"/"low"/"out" set the RAW level (gpiod_direction_output_raw); `value` honours active_low;
 * - edge triggers are logical (the kernel swaps rising/falling for active_low lines);
 * - onoff's poller reads the value when epoll fires (a later turn) and calls the watchers only if that value
 *   matches an enabled edge — so listeners get (null, value-read-at-dispatch).
 */
import type { BinaryValue, Direction, Edge, Options, ValueCallback } from 'onoff';
import type { OnoffGpio, OnoffModule } from './onoff-gpio-bus.ts';

interface FakePin {
  exported: boolean;
  direction: 'in' | 'out';
  activeLow: boolean;
  edge: Edge;
  /** Output latch (raw), or the level driven into an unwired input (raw). */
  raw: BinaryValue;
  listeners: ValueCallback[];
}

export interface FakeOnoffCall {
  gpio: number;
  direction: Direction;
  edge: Edge | undefined;
  options: Options | undefined;
}

export class FakeSysfsGpio {
  readonly pins = new Map<number, FakePin>();
  /** Every `new Gpio(...)`, for assertions on the option mapping. */
  readonly calls: FakeOnoffCall[] = [];
  /** Lines whose export fails (like EBUSY when a kernel driver owns the pin). */
  readonly busy = new Set<number>();
  private readonly wires: Map<number, number>;

  /** `wires`: output line -> input line it is jumpered to. */
  constructor(wires: Record<number, number> = {}) {
    this.wires = new Map(Object.entries(wires).map(([out, input]) => [Number(out), input]));
  }

  module(): OnoffModule {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the class below closes over this model
    const sysfs = this;
    class Gpio implements OnoffGpio {
      private readonly pin: FakePin;
      constructor(
        private readonly gpio: number,
        direction: Direction,
        edge?: Edge,
        options?: Options,
      ) {
        sysfs.calls.push({ gpio, direction, edge, options });
        if (sysfs.busy.has(gpio)) {
          throw Object.assign(new Error(`EBUSY: resource busy or locked, write '/sys/class/gpio/export'`), {
            code: 'EBUSY',
          });
        }
        this.pin = sysfs.pinOf(gpio);
        this.pin.exported = true;
        this.pin.activeLow = options?.activeLow ?? false;
        if (direction === 'in') this.pin.direction = 'in';
        else {
          this.pin.direction = 'out';
          sysfs.setRaw(gpio, direction === 'high' ? 1 : 0);
        }
        if (edge !== undefined && direction === 'in') this.pin.edge = edge;
      }
      read(): Promise<BinaryValue>;
      read(callback: ValueCallback): void;
      read(callback?: ValueCallback): Promise<BinaryValue> | void {
        const value = sysfs.logical(this.gpio);
        if (!callback) return new Promise((resolve) => setImmediate(resolve, value));
        setImmediate(callback, null, value);
      }
      write(value: BinaryValue): Promise<void>;
      write(value: BinaryValue, callback: (err: Error | null | undefined) => void): void;
      write(value: BinaryValue, callback?: (err: Error | null | undefined) => void): Promise<void> | void {
        sysfs.setRaw(this.gpio, this.pin.activeLow ? ((1 - value) as BinaryValue) : value);
        if (!callback) return new Promise((resolve) => setImmediate(resolve));
        setImmediate(callback, null);
      }
      watch(callback: ValueCallback): void {
        this.pin.listeners.push(callback);
      }
      unwatch(callback?: ValueCallback): void {
        this.pin.listeners = callback ? this.pin.listeners.filter((l) => l !== callback) : [];
      }
      unexport(): void {
        this.pin.listeners = [];
        this.pin.exported = false;
      }
    }
    return { Gpio };
  }

  /** Sets a pin's raw level and propagates it along its wire. */
  setRaw(gpio: number, raw: BinaryValue): void {
    const pin = this.pinOf(gpio);
    const before = this.logical(gpio);
    pin.raw = raw;
    this.maybeInterrupt(gpio, before);
    const wired = this.wires.get(gpio);
    if (wired !== undefined && this.pinOf(wired).direction === 'in') {
      const wiredBefore = this.logical(wired);
      this.pinOf(wired).raw = raw;
      this.maybeInterrupt(wired, wiredBefore);
    }
  }

  /** The value file: logical (raw xor active_low). */
  logical(gpio: number): BinaryValue {
    const pin = this.pinOf(gpio);
    return pin.activeLow ? ((1 - pin.raw) as BinaryValue) : pin.raw;
  }

  private maybeInterrupt(gpio: number, before: BinaryValue): void {
    const pin = this.pinOf(gpio);
    const after = this.logical(gpio);
    if (!pin.exported || pin.direction !== 'in' || before === after || pin.listeners.length === 0) return;
    const fires = pin.edge === 'both' || (pin.edge === 'rising' && after === 1) || (pin.edge === 'falling' && after === 0);
    if (!fires) return;
    setImmediate(() => {
      const value = this.logical(gpio); // onoff: readSync() in the poller callback
      const enabled = pin.edge === 'both' || (value === 1 ? pin.edge === 'rising' : pin.edge === 'falling');
      if (enabled) for (const listener of [...pin.listeners]) listener(null, value);
    });
  }

  private pinOf(gpio: number): FakePin {
    let pin = this.pins.get(gpio);
    if (!pin) {
      pin = { exported: false, direction: 'in', activeLow: false, edge: 'none', raw: 0, listeners: [] };
      this.pins.set(gpio, pin);
    }
    return pin;
  }
}
