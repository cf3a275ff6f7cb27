/**
 * What every measuring I²C sensor driver shares (BME280, SHT31): one measurement yields every quantity; concurrent
 * readers share the measurement in flight (one bus conversation, not one per caller); the status shows the last
 * reading or error; close() waits for the measurement in flight (the bus itself belongs to the BusProvider).
 * A subclass only implements how to take one measurement.
 */
import type { Clock } from '../../runtime/clock.ts';
import type { DeviceStatus, ISensorDevice } from '../device.ts';
import { DriverError, DriverErrorCode } from '../errors.ts';
import { DeviceStatusTracker } from './device-status.ts';
import { asDriverError, closedError } from './driver-context.ts';

export abstract class MeasuringSensor<Q extends string> implements ISensorDevice {
  readonly kind = 'sensor' as const;
  abstract readonly driver: string;
  readonly id: string;
  readonly quantities: readonly Q[];
  /** The chip's name in messages ("BME280"). */
  readonly #label: string;
  readonly #status: DeviceStatusTracker;
  #inFlight: Promise<Record<Q, number>> | undefined;
  #closed = false;

  protected constructor(id: string, label: string, quantities: readonly Q[], clock: Clock) {
    this.id = id;
    this.#label = label;
    this.quantities = quantities;
    this.#status = new DeviceStatusTracker(clock);
  }

  /** Takes one measurement of every quantity; throws on failure (the base wraps and records it). */
  protected abstract measureOnce(): Promise<Record<Q, number>>;

  async read(quantity: string): Promise<number> {
    if (!(this.quantities as readonly string[]).includes(quantity)) {
      throw new DriverError(DriverErrorCode.INVALID_ARGUMENT, `${this.#label} ${this.id} has no quantity "${quantity}" (has ${this.quantities.join(', ')})`);
    }
    return (await this.measure())[quantity as Q];
  }

  /** One measurement of all quantities; concurrent callers share it. */
  measure(): Promise<Record<Q, number>> {
    if (this.#closed) return Promise.reject(closedError(this.id));
    this.#inFlight ??= this.#measureRecorded().finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  status(): DeviceStatus {
    return this.#status.snapshot();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // The I²C bus is shared with other devices and owned by the BusProvider: nothing to release but our turn.
    await this.#inFlight?.catch(() => undefined);
  }

  async #measureRecorded(): Promise<Record<Q, number>> {
    try {
      const reading = await this.measureOnce();
      this.#status.ok({ ...reading });
      return reading;
    } catch (err) {
      const error = asDriverError(err, `${this.#label} ${this.id} read`);
      this.#status.fail(error);
      throw error;
    }
  }
}
