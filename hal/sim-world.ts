/**
 * The simulated board's world (drivers/sim-world.ts): sim I²C buses, sim GPIO, sim serial ports, and the timers the
 * simulated peripherals run on. Built once per daemon on the `sim` board; closing it stops every timer.
 */
import type { Clock } from '../runtime/clock.ts';
import { every, unrefTimer } from '../runtime/clock.ts';
import { createSimGpioBus } from '../drivers/gpio/sim-gpio-bus.ts';
import type { SimGpioBus } from '../drivers/gpio/sim-gpio-bus.ts';
import { createSimI2cWorld } from '../drivers/i2c/sim-i2c-bus.ts';
import type { SimI2cWorld } from '../drivers/i2c/sim-i2c-bus.ts';
import { SimSerialBinding } from '../drivers/serial/sim-serial.ts';
import type { ISimWorld } from '../drivers/sim-world.ts';

export class SimWorld implements ISimWorld {
  readonly clock: Clock;
  readonly i2c: SimI2cWorld;
  readonly gpio: SimGpioBus;
  readonly serial: SimSerialBinding;
  /** How to stop each timer still pending. */
  readonly #timers = new Set<() => void>();
  #closed = false;

  constructor(clock: Clock) {
    this.clock = clock;
    this.i2c = createSimI2cWorld();
    this.gpio = createSimGpioBus({ clock });
    this.serial = new SimSerialBinding({ clock });
  }

  every(ms: number, fn: () => void): void {
    if (this.#closed) return;
    // Peripherals' own timers run on the board's clock, must not keep the daemon alive at shutdown, nor outlive close().
    this.#timers.add(every(this.clock, ms, fn, { unref: true }).stop);
  }

  after(ms: number, fn: () => void): () => void {
    if (this.#closed) return () => {};
    const handle = this.clock.setTimeout(() => {
      this.#timers.delete(cancel);
      fn();
    }, ms);
    unrefTimer(handle);
    const cancel = (): void => {
      this.clock.clearTimeout(handle);
      this.#timers.delete(cancel);
    };
    this.#timers.add(cancel);
    return cancel;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const stop of [...this.#timers]) stop();
    this.#timers.clear();
    await this.gpio.close();
  }
}
