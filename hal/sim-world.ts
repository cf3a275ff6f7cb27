/**
 * The simulated board's world (drivers/sim-world.ts): sim I²C buses, sim GPIO, sim serial ports, and the timers the
 * simulated peripherals run on. Built once per daemon on the `sim` board; closing it stops every timer.
 */
import type { Clock } from '../runtime/clock.ts';
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
  readonly #timers = new Set<ReturnType<typeof setInterval> | ReturnType<typeof setTimeout>>();
  #closed = false;

  constructor(clock: Clock) {
    this.clock = clock;
    this.i2c = createSimI2cWorld();
    this.gpio = createSimGpioBus({ clock });
    this.serial = new SimSerialBinding({ clock });
  }

  every(ms: number, fn: () => void): void {
    if (this.#closed) return;
    // Peripherals' own timers must not keep the daemon alive at shutdown, nor outlive close().
    const timer = setInterval(fn, ms);
    timer.unref();
    this.#timers.add(timer);
  }

  after(ms: number, fn: () => void): () => void {
    if (this.#closed) return () => {};
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      fn();
    }, ms);
    timer.unref();
    this.#timers.add(timer);
    return () => {
      clearTimeout(timer);
      this.#timers.delete(timer);
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers) clearInterval(t);
    this.#timers.clear();
    await this.gpio.close();
  }
}
