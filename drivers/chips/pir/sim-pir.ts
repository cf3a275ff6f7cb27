/**
 * A simulated PIR motion sensor (HC-SR501 behaviour) driving a sim GPIO input: now and then someone walks by and
 * the output goes high for a few seconds (re-triggered while motion continues), then low, then a ~2.5 s block
 * time during which the sensor ignores motion. Every transition comes with contact-bounce-like chatter — a few
 * toggles within the same instant, i.e. well under a millisecond — so the driver's debounce is exercised on the
 * sim board as on a long, noisy cable. Time is the world's: the sensor's only timer is one world.after() for its
 * next change (the end of a pulse, or the next spontaneous motion), so an idle sim board does not wake ten times a
 * second to ask (issue 12: idle CPU). Spontaneous motion is a Poisson process — the gap after the block time is
 * exponential with mean `meanIntervalMs`, the same process as a per-tick coin flip, without the ticks.
 * Test control: `triggerMotion()`.
 */
import type { Clock } from '../../../runtime/clock.ts';
import type { ISimGpio, ISimWorld } from '../../sim-world.ts';

export interface SimPirOptions {
  line: number;
  /** The line is wired active-low: motion pulls it low. */
  activeLow?: boolean;
  random?: () => number;
  /** Mean time between spontaneous motion events. Default 45 s. */
  meanIntervalMs?: number;
  /** Shortest and longest output pulse. Default 2-6 s (the HC-SR501's time pot near its minimum). */
  holdMs?: readonly [number, number];
  /** After the output drops, motion is ignored this long (HC-SR501 block time, ~2.5 s). */
  blockMs?: number;
}

export class SimPir {
  readonly #gpio: ISimGpio;
  readonly #clock: Clock;
  readonly #line: number;
  readonly #activeLow: boolean;
  readonly #random: () => number;
  readonly #meanIntervalMs: number;
  readonly #holdMs: readonly [number, number];
  readonly #blockMs: number;
  readonly #world: ISimWorld;
  #motionUntil: number | undefined;
  #blockedUntil = -Infinity;
  /** Cancels the one pending timer: the pulse's end while in motion, else the next spontaneous motion. */
  #cancelNext: () => void = () => {};
  /** How many motion pulses started (inspection for tests and demos). */
  pulses = 0;

  constructor(world: ISimWorld, options: SimPirOptions) {
    this.#gpio = world.gpio;
    this.#clock = world.clock;
    this.#line = options.line;
    this.#activeLow = options.activeLow ?? false;
    this.#random = options.random ?? Math.random;
    this.#meanIntervalMs = options.meanIntervalMs ?? 45_000;
    this.#holdMs = options.holdMs ?? [2000, 6000];
    this.#blockMs = options.blockMs ?? 2500;
    this.#world = world;
    this.#gpio.drive(this.#line, this.#physical(0));
    this.#scheduleSpontaneous();
  }

  get motion(): boolean {
    return this.#motionUntil !== undefined;
  }

  /** Test control: motion now, for `durationMs` (default a random hold time); extends a pulse in progress. */
  triggerMotion(durationMs?: number): void {
    const [min, max] = this.#holdMs;
    const hold = durationMs ?? min + this.#random() * (max - min);
    const until = this.#clock.now() + hold;
    if (this.#motionUntil !== undefined) {
      if (until <= this.#motionUntil) return;
      this.#motionUntil = until; // re-trigger mode: the pulse is extended
    } else {
      this.#motionUntil = until;
      this.pulses++;
      this.#transition(1);
    }
    this.#cancelNext();
    this.#cancelNext = this.#world.after(until - this.#clock.now(), () => this.#endPulse());
  }

  #endPulse(): void {
    this.#motionUntil = undefined;
    this.#blockedUntil = this.#clock.now() + this.#blockMs;
    this.#transition(0);
    this.#scheduleSpontaneous();
  }

  /** The next spontaneous motion: after the block time, an exponential gap (inverse-CDF sample of `random`). */
  #scheduleSpontaneous(): void {
    const now = this.#clock.now();
    const gap = -this.#meanIntervalMs * Math.log(1 - Math.min(this.#random(), 1 - Number.EPSILON));
    // Capped below setTimeout's 2^31-1 ms limit (beyond it Node fires after 1 ms): a day is as good as never here.
    const delay = Math.min(Math.max(0, this.#blockedUntil - now) + gap, 86_400_000);
    this.#cancelNext();
    this.#cancelNext = this.#world.after(delay, () => this.triggerMotion());
  }

  /** Drives the new level with 1-3 bounces through the old one first (all within the same instant). */
  #transition(to: 0 | 1): void {
    const from = to === 1 ? 0 : 1;
    const bounces = 1 + Math.floor(this.#random() * 3);
    for (let i = 0; i < bounces; i++) {
      this.#gpio.drive(this.#line, this.#physical(to));
      this.#gpio.drive(this.#line, this.#physical(from));
    }
    this.#gpio.drive(this.#line, this.#physical(to));
  }

  #physical(motion: 0 | 1): 0 | 1 {
    return this.#activeLow ? (motion === 1 ? 0 : 1) : motion;
  }
}
