/**
 * Sim GPIO binding: the `sim` board's GPIO lines, and the test/peripheral controls of ISimGpio.
 *
 * It behaves as sysfs GPIO does through onoff (same validation and errors via the shared bases), including
 * timing: reads and writes complete on a later turn of the event loop (sysfs I/O runs on libuv's thread pool),
 * and edges reach watchers on a later turn than the change that caused them (epoll delivers them as an I/O
 * callback), never synchronously inside drive().
 *
 * Levels: `drive(line, v)` and `level(line)` speak *physical* levels (the wire: what a PIR's output pin drives,
 * what a relay coil sees); read/write/watch speak *logical* values, so an active-low line inverts between them —
 * exactly what the kernel's `active_low` attribute does.
 */
import { performance } from 'node:perf_hooks';
import type { Clock } from '../../runtime/clock.ts';
import type { ISimGpio } from '../sim-world.ts';
import type { GpioValue } from './gpio-bus.ts';
import { GpioBusBase } from './gpio-bus-base.ts';
import { GpioLineBase } from './gpio-line-base.ts';
import { checkGpioValue, checkLineNumber, toPhysical, type NormalisedGpioOptions } from './gpio-validation.ts';

export interface SimGpioBusOptions {
  /** Timestamps for edge events: monotonic ms. Default performance.now() (the scale GpioEdgeEvent.at promises). */
  clock?: Pick<Clock, 'now'>;
}

interface SimPin {
  /** Level driven from outside (drive()); what an input reads. Floating inputs read 0 (a pull-down). */
  external: GpioValue;
  /** Level this pin drives as an output; kept after close (an unexported output keeps its level on a Pi). */
  driven: GpioValue | undefined;
  /** The open line, if any. */
  open: SimGpioLine | undefined;
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

class SimGpioLine extends GpioLineBase {
  private watching = false;

  constructor(
    line: number,
    options: NormalisedGpioOptions,
    private readonly pin: SimPin,
    private readonly clock: Pick<Clock, 'now'>,
    onClosed: () => void,
  ) {
    super(line, options, () => clock.now(), onClosed);
  }

  /** Called by the bus when the external level of this (input) line changed. */
  externalChanged(physical: GpioValue): void {
    if (!this.watching) return;
    const at = this.clock.now();
    const logical = toPhysical(physical, this.options.activeLow);
    setImmediate(() => {
      // The watcher may have gone in the meantime; deliverEdge also drops edges after close.
      if (this.watching) this.deliverEdge(logical, at);
    });
  }

  protected async readRaw(): Promise<GpioValue> {
    await nextTurn();
    // An output reads back the level it drives (the sysfs value file of an output reports the output latch).
    const physical = this.options.direction === 'out' ? (this.pin.driven ?? 0) : this.pin.external;
    return toPhysical(physical, this.options.activeLow);
  }

  protected async writeRaw(value: GpioValue): Promise<void> {
    await nextTurn();
    this.pin.driven = toPhysical(value, this.options.activeLow);
  }

  protected startWatching(): void {
    this.watching = true;
  }

  protected stopWatching(): void {
    this.watching = false;
  }

  protected async release(): Promise<void> {
    this.watching = false;
    this.pin.open = undefined;
  }
}

export class SimGpioBus extends GpioBusBase implements ISimGpio {
  private readonly pins = new Map<number, SimPin>();
  private readonly clock: Pick<Clock, 'now'>;

  constructor(options: SimGpioBusOptions = {}) {
    super();
    this.clock = options.clock ?? { now: () => performance.now() };
  }

  drive(line: number, value: 0 | 1): void {
    checkLineNumber(line);
    checkGpioValue(value);
    const pin = this.pin(line);
    if (pin.external === value) return;
    pin.external = value;
    // Only an open input sees the change as an edge; an output keeps reading its own latch.
    if (pin.open?.options.direction === 'in') pin.open.externalChanged(value);
  }

  level(line: number): 0 | 1 | undefined {
    return this.pins.get(line)?.driven;
  }

  protected async openLine(line: number, options: NormalisedGpioOptions, release: () => void): Promise<GpioLineBase> {
    await nextTurn(); // exporting is sysfs file I/O: never synchronous on a board either
    const pin = this.pin(line);
    // Glitch-free like sysfs "high"/"low": the first level the pin drives is already the initial one.
    pin.driven = options.direction === 'out' ? toPhysical(options.initial ?? 0, options.activeLow) : undefined;
    const opened = new SimGpioLine(line, options, pin, this.clock, release);
    pin.open = opened;
    return opened;
  }

  private pin(line: number): SimPin {
    let pin = this.pins.get(line);
    if (!pin) {
      pin = { external: 0, driven: undefined, open: undefined };
      this.pins.set(line, pin);
    }
    return pin;
  }
}

/** The sim GPIO bus of the `sim` board; one object is both the IGpioBus and the world's ISimGpio. */
export function createSimGpioBus(options: SimGpioBusOptions = {}): SimGpioBus {
  return new SimGpioBus(options);
}
