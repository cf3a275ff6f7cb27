/**
 * Debounce by stability: a level change is reported only once the input has stayed at the new level for
 * `debounceMs` without another edge (every raw edge restarts the wait).
 *
 * Why not "report the first edge, then ignore edges for debounceMs" (a lockout)? The lockout reports sooner, but
 * (1) a single glitch — a sub-millisecond spike from a relay switching nearby — is reported as a full edge, and
 * (2) when the last bounce lands inside the lockout window the reported level disagrees with the real one until
 * the next edge, which for a PIR can be minutes away, and `read()` would keep returning the wrong level. Waiting
 * for stability rejects spikes and always converges to the settled level; it costs `debounceMs` of latency,
 * which is nothing next to a PIR's seconds-long output pulse. The reported `at` is the time of the raw edge that
 * began the stable period, i.e. when the level really changed, not when the wait confirmed it.
 */
import type { Clock } from '../../../runtime/clock.ts';
import type { InputEdge } from '../../device.ts';
import type { GpioValue } from '../../gpio/gpio-bus.ts';

export class StableLevelDebouncer {
  readonly #clock: Clock;
  readonly #debounceMs: number;
  readonly #onEdge: (edge: InputEdge) => void;
  #level: GpioValue;
  #pending: { value: GpioValue; at: number } | undefined;
  #timer: unknown;
  #closed = false;

  constructor(clock: Clock, debounceMs: number, initial: GpioValue, onEdge: (edge: InputEdge) => void) {
    this.#clock = clock;
    this.#debounceMs = debounceMs;
    this.#level = initial;
    this.#onEdge = onEdge;
  }

  /** The debounced level. */
  get level(): GpioValue {
    return this.#level;
  }

  /** Sets the level without an edge (the line's level read at open); a pending change still settles. */
  seed(level: GpioValue): void {
    this.#level = level;
  }

  /** A raw edge from the line: `value` after it, `at` in the line's monotonic ms. */
  input(value: GpioValue, at: number): void {
    if (this.#closed) return;
    this.#cancel();
    if (value === this.#level) return; // back where it was: the excursion was a glitch
    this.#pending = { value, at };
    if (this.#debounceMs <= 0) {
      this.#settle();
      return;
    }
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.#settle();
    }, this.#debounceMs);
  }

  /** Stops the pending timer; later input is ignored. Idempotent. */
  close(): void {
    this.#closed = true;
    this.#cancel();
  }

  #settle(): void {
    const pending = this.#pending;
    this.#pending = undefined;
    if (pending === undefined || pending.value === this.#level) return;
    this.#level = pending.value;
    this.#onEdge({ edge: pending.value === 1 ? 'rising' : 'falling', value: pending.value, at: pending.at });
  }

  #cancel(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pending = undefined;
  }
}
