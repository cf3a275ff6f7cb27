/**
 * A motion sensor (HC-SR501 and the like: a digital output that goes high for a few seconds on motion) on one
 * GPIO input watching both edges, debounced in the driver on the injected clock (see debouncer.ts for the
 * semantics). Works for any on/off input (door contact, button) too.
 */
import type { Clock } from '../../../runtime/clock.ts';
import type { DeviceStatus, IInputDevice, InputEdge } from '../../device.ts';
import type { GpioValue, IGpioLine } from '../../gpio/gpio-bus.ts';
import { DeviceStatusTracker } from '../device-status.ts';
import { asDriverError, closedError } from '../driver-context.ts';
import { StableLevelDebouncer } from './debouncer.ts';

export interface PirDeviceOptions {
  id: string;
  line: IGpioLine;
  debounceMs: number;
  clock: Clock;
}

export class PirDevice implements IInputDevice {
  readonly kind = 'input' as const;
  readonly driver = 'pir';
  readonly id: string;
  readonly #line: IGpioLine;
  readonly #debouncer: StableLevelDebouncer;
  readonly #listeners = new Set<(edge: InputEdge) => void>();
  readonly #status: DeviceStatusTracker;
  readonly #unwatch: () => void;
  #closing: Promise<void> | undefined;

  /** Watches the line, then reads its level as the starting debounced level. */
  static async open(options: PirDeviceOptions): Promise<PirDevice> {
    let device: PirDevice;
    try {
      device = new PirDevice(options);
    } catch (err) {
      await options.line.close();
      throw asDriverError(err, `input ${options.id}`);
    }
    try {
      const level = await options.line.read();
      device.#debouncer.seed(level);
      device.#status.ok(level);
    } catch (err) {
      await device.close();
      throw asDriverError(err, `input ${options.id}`);
    }
    return device;
  }

  private constructor(options: PirDeviceOptions) {
    this.id = options.id;
    this.#line = options.line;
    this.#status = new DeviceStatusTracker(options.clock);
    this.#debouncer = new StableLevelDebouncer(options.clock, options.debounceMs, 0, (edge) => this.#deliver(edge));
    // Watch before the first read so that no edge between the two is lost.
    this.#unwatch = this.#line.watch((event) => this.#debouncer.input(event.value, event.at));
  }

  async read(): Promise<GpioValue> {
    if (this.#closing !== undefined) throw closedError(this.id);
    return this.#debouncer.level;
  }

  watch(listener: (edge: InputEdge) => void): () => void {
    if (this.#closing !== undefined) return () => undefined;
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  status(): DeviceStatus {
    return this.#status.snapshot();
  }

  /** Stops the debounce timer and the watchers, and unexports the line. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#unwatch();
      this.#debouncer.close();
      this.#listeners.clear();
      await this.#line.close();
    })();
    return this.#closing;
  }

  #deliver(edge: InputEdge): void {
    this.#status.ok(edge.value);
    for (const listener of [...this.#listeners]) {
      try {
        listener(edge);
      } catch {
        // A listener's failure is its owner's (the HAL isolates agents); it must not starve the other listeners.
      }
    }
  }
}
