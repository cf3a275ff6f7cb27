/**
 * The air the simulated environmental sensors measure (BME280, SHT31): a slow daily cycle driven by the injected
 * clock plus a little noise, so that a dashboard on the sim board shows something plausible. Temperature peaks
 * mid-afternoon (UTC) between 18 and 26 °C, relative humidity moves opposite to it between 40 and 60 %RH, and
 * pressure wanders ±3 hPa around 1013.25 hPa over a few days. `set()` pins quantities for tests and demos.
 */
import type { Clock } from '../../runtime/clock.ts';

export interface Environment {
  /** °C */
  temperature: number;
  /** %RH */
  humidity: number;
  /** hPa */
  pressure: number;
}

const DAY_MS = 86_400_000;
const PRESSURE_PERIOD_MS = 3.3 * DAY_MS;

export class SimEnvironment {
  readonly #clock: Clock;
  readonly #random: () => number;
  #pinned: Partial<Environment> = {};

  constructor(clock: Clock, random: () => number = Math.random) {
    this.#clock = clock;
    this.#random = random;
  }

  /** The environment now: pinned quantities as set, the others from the daily cycle with noise. */
  sample(): Environment {
    const t = this.#clock.now();
    // Phase chosen so the maximum falls at 15:00 and the minimum at 03:00 UTC.
    const day = Math.sin((2 * Math.PI * (t - 9 * 3_600_000)) / DAY_MS);
    const noise = (amplitude: number): number => (this.#random() - 0.5) * 2 * amplitude;
    return {
      temperature: this.#pinned.temperature ?? 22 + 3.8 * day + noise(0.1),
      humidity: this.#pinned.humidity ?? 50 - 9.5 * day + noise(0.4),
      pressure: this.#pinned.pressure ?? 1013.25 + 3 * Math.sin((2 * Math.PI * t) / PRESSURE_PERIOD_MS) + noise(0.05),
    };
  }

  /** Pins the given quantities (test control); the others keep following the cycle. */
  set(values: Partial<Environment>): void {
    this.#pinned = { ...this.#pinned, ...values };
  }

  /** Back to the daily cycle for every quantity. */
  clear(): void {
    this.#pinned = {};
  }
}
