/**
 * Real GPIO binding: Linux sysfs GPIO (/sys/class/gpio) through the `onoff` package.
 *
 * onoff is loaded lazily on the first open(): it `require`s the native `epoll` addon at import time, and a
 * machine without it (a CI container, macOS) must get ERR_DRIVER_UNAVAILABLE from open(), not a crash when the
 * daemon merely imports the driver table.
 *
 * Sysfs facts this relies on (Documentation/admin-guide/gpio/sysfs.rst, drivers/gpio/gpiolib-sysfs.c):
 * - direction "high"/"low" configure an output *and* its first level atomically (glitch-free), and they set the
 *   RAW level: direction_store() calls gpiod_direction_output_raw(), ignoring active_low. So the logical
 *   `initial` is converted to a physical level here.
 * - the `value` file and edge triggers honour `active_low` (the kernel swaps rising/falling for an active-low
 *   line), so reads, writes and edges are logical without further work; onoff writes active_low before
 *   direction and edge.
 */
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { BinaryValue, Direction, Edge, Gpio, Options, ValueCallback } from 'onoff';
import type { Clock } from '../../runtime/clock.ts';
import { DriverError, DriverErrorCode } from '../errors.ts';
import type { GpioValue, IGpioBus } from './gpio-bus.ts';
import { GpioBusBase } from './gpio-bus-base.ts';
import { GpioLineBase } from './gpio-line-base.ts';
import { toPhysical, type NormalisedGpioOptions } from './gpio-validation.ts';
import { cjsExport } from '../cjs-interop.ts';

/** The part of onoff's Gpio this binding uses (a test can provide a fake). */
export type OnoffGpio = Pick<Gpio, 'read' | 'write' | 'watch' | 'unwatch' | 'unexport'>;

/** What the binding needs from the `onoff` module. */
export interface OnoffModule {
  Gpio: new (gpio: number, direction: Direction, edge?: Edge, options?: Options) => OnoffGpio;
}

export interface OnoffGpioBusOptions {
  /** Loads onoff. Default: `import('onoff')`. */
  loadBinding?: () => Promise<OnoffModule>;
  /** Whether the kernel offers sysfs GPIO. Default: /sys/class/gpio/export exists (CONFIG_GPIO_SYSFS). */
  sysfsAvailable?: () => boolean;
  /** Timestamps for edge events; default performance.now() (onoff gives none, so "when the binding saw it"). */
  clock?: Pick<Clock, 'now'>;
}

const SYSFS_EXPORT = '/sys/class/gpio/export';

async function importOnoff(): Promise<OnoffModule> {
  const Gpio = cjsExport<OnoffModule['Gpio']>(await import('onoff'), 'Gpio');
  if (Gpio === undefined) throw new Error('the onoff package has no Gpio export');
  return { Gpio };
}

class OnoffGpioLine extends GpioLineBase {
  private readonly onEdge: ValueCallback;

  constructor(
    line: number,
    options: NormalisedGpioOptions,
    private readonly gpio: OnoffGpio,
    now: () => number,
    onClosed: () => void,
  ) {
    super(line, options, now, onClosed);
    this.onEdge = (error, value) => {
      // An epoll error carries no edge and the watch contract has no error channel; the next edge is reported
      // normally, and read() surfaces a broken line as ERR_DRIVER_IO.
      if (!error) this.deliverEdge(value);
    };
  }

  protected async readRaw(): Promise<GpioValue> {
    try {
      return await this.gpio.read();
    } catch (error) {
      throw new DriverError(DriverErrorCode.IO, `reading GPIO ${this.line} failed`, { cause: error });
    }
  }

  protected async writeRaw(value: GpioValue): Promise<void> {
    try {
      await this.gpio.write(value as BinaryValue);
    } catch (error) {
      throw new DriverError(DriverErrorCode.IO, `writing GPIO ${this.line} failed`, { cause: error });
    }
  }

  protected startWatching(): void {
    try {
      this.gpio.watch(this.onEdge); // adds the value fd to epoll (EPOLLPRI): the kernel's edge notification
    } catch (error) {
      throw new DriverError(DriverErrorCode.IO, `watching GPIO ${this.line} failed`, { cause: error });
    }
  }

  protected stopWatching(): void {
    // Removing the last onoff watcher removes the fd from epoll, so an idle line keeps no handle alive.
    this.gpio.unwatch(this.onEdge);
  }

  protected async release(): Promise<void> {
    try {
      this.gpio.unexport();
    } catch (error) {
      throw new DriverError(DriverErrorCode.IO, `unexporting GPIO ${this.line} failed`, { cause: error });
    }
  }
}

export class OnoffGpioBus extends GpioBusBase {
  private binding: Promise<OnoffModule> | undefined;
  private readonly load: () => Promise<OnoffModule>;
  private readonly sysfsAvailable: () => boolean;
  private readonly now: () => number;

  constructor(options: OnoffGpioBusOptions = {}) {
    super();
    this.load = options.loadBinding ?? importOnoff;
    this.sysfsAvailable = options.sysfsAvailable ?? (() => existsSync(SYSFS_EXPORT));
    const clock = options.clock ?? { now: () => performance.now() };
    this.now = () => clock.now();
  }

  protected async openLine(line: number, options: NormalisedGpioOptions, release: () => void): Promise<GpioLineBase> {
    const { Gpio } = await this.loadOnce();
    if (!this.sysfsAvailable()) {
      throw new DriverError(
        DriverErrorCode.UNAVAILABLE,
        `sysfs GPIO is not available here (${SYSFS_EXPORT} is missing: kernel without CONFIG_GPIO_SYSFS, or not a board)`,
      );
    }
    const onoffOptions: Options = { activeLow: options.activeLow, reconfigureDirection: true };
    let gpio: OnoffGpio;
    try {
      if (options.direction === 'in') {
        gpio = new Gpio(line, 'in', options.edge, onoffOptions);
      } else {
        const physical = toPhysical(options.initial ?? 0, options.activeLow);
        gpio = new Gpio(line, physical === 1 ? 'high' : 'low', undefined, onoffOptions);
      }
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new DriverError(DriverErrorCode.OPEN_FAILED, `exporting GPIO ${line} failed: ${reason}`, {
        cause: error,
      });
    }
    return new OnoffGpioLine(line, options, gpio, this.now, release);
  }

  private loadOnce(): Promise<OnoffModule> {
    this.binding ??= this.load().catch((error: unknown) => {
      throw new DriverError(
        DriverErrorCode.UNAVAILABLE,
        'the onoff GPIO binding cannot load here (its native epoll addon is missing or not built for this system)',
        { cause: error },
      );
    });
    return this.binding;
  }
}

/** The real GPIO bus. Nothing is loaded or touched until the first open(). */
export function createOnoffGpioBus(options: OnoffGpioBusOptions = {}): IGpioBus {
  return new OnoffGpioBus(options);
}
