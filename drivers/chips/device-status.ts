/**
 * The DeviceStatus bookkeeping every driver shares (what `openstarry devices` shows): the last good value with
 * its time, and the last error until the next success clears it.
 */
import type { Clock } from '../../runtime/clock.ts';
import type { DeviceStatus } from '../device.ts';

export class DeviceStatusTracker {
  readonly #clock: Clock;
  #value: unknown;
  /** Clock time of the last success; formatted only when someone asks (a camera calls ok() for every frame). */
  #updatedAtMs: number | undefined;
  #error: string | undefined;

  constructor(clock: Clock, initialValue?: unknown) {
    this.#clock = clock;
    this.#value = initialValue;
  }

  /** A successful read or command: records the value and clears the error. */
  ok(value: unknown): void {
    this.#value = value;
    this.#updatedAtMs = this.#clock.now();
    this.#error = undefined;
  }

  /** A failure: the last good value stays, the error is shown next to it. */
  fail(err: unknown): void {
    this.#error = err instanceof Error ? err.message : String(err);
  }

  snapshot(): DeviceStatus {
    const status: DeviceStatus = {};
    if (this.#value !== undefined) status.value = this.#value;
    if (this.#updatedAtMs !== undefined) status.updatedAt = new Date(this.#updatedAtMs).toISOString();
    if (this.#error !== undefined) status.error = this.#error;
    return status;
  }
}
