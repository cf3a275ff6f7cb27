/**
 * The SHT31 humidity/temperature sensor device (Sensirion SHT3x-DIS), on the I²C bus contract. Each read is a
 * single-shot, high-repeatability measurement without clock stretching (command 0x2400, §4.3): clock stretching
 * is avoided because not every I²C master supports it (the Pi's BCM2835 controller is known to mishandle it).
 */
import type { Clock } from '../../../runtime/clock.ts';
import type { DeviceStatus, ISensorDevice } from '../../device.ts';
import { DriverError, DriverErrorCode } from '../../errors.ts';
import type { II2cBus } from '../../i2c/i2c-bus.ts';
import { DeviceStatusTracker } from '../device-status.ts';
import { asDriverError, closedError, sleep } from '../driver-context.ts';
import {
  MEASUREMENT_MAX_MS_HIGH, SOFT_RESET_MAX_MS, Sht31Command, checkedWords, commandBytes, humidityFromRaw, temperatureFromRaw,
} from './sht31-protocol.ts';

export const SHT31_QUANTITIES = ['temperature', 'humidity'] as const;
export type Sht31Quantity = (typeof SHT31_QUANTITIES)[number];
export type Sht31Reading = Record<Sht31Quantity, number>;

/** A CRC mismatch is retried with a fresh measurement this many times before BAD_DEVICE. */
const CRC_RETRIES = 1;

export interface Sht31DeviceOptions {
  id: string;
  bus: II2cBus;
  address: number;
  clock: Clock;
}

export class Sht31Device implements ISensorDevice {
  readonly kind = 'sensor' as const;
  readonly driver = 'sht31';
  readonly quantities: readonly string[] = SHT31_QUANTITIES;
  readonly id: string;
  readonly #bus: II2cBus;
  readonly #address: number;
  readonly #clock: Clock;
  readonly #status: DeviceStatusTracker;
  #inFlight: Promise<Sht31Reading> | undefined;
  #closed = false;

  /** Soft-resets the sensor and reads its status register (CRC-checked) to make sure an SHT3x answers. */
  static async open(options: Sht31DeviceOptions): Promise<Sht31Device> {
    const device = new Sht31Device(options);
    await device.#initialise();
    return device;
  }

  private constructor(options: Sht31DeviceOptions) {
    this.id = options.id;
    this.#bus = options.bus;
    this.#address = options.address;
    this.#clock = options.clock;
    this.#status = new DeviceStatusTracker(options.clock);
  }

  async read(quantity: string): Promise<number> {
    if (!(SHT31_QUANTITIES as readonly string[]).includes(quantity)) {
      throw new DriverError(DriverErrorCode.INVALID_ARGUMENT, `SHT31 ${this.id} has no quantity "${quantity}" (has ${SHT31_QUANTITIES.join(', ')})`);
    }
    return (await this.measure())[quantity as Sht31Quantity];
  }

  /** One single-shot measurement of both quantities; concurrent callers share it. */
  measure(): Promise<Sht31Reading> {
    if (this.#closed) return Promise.reject(closedError(this.id));
    this.#inFlight ??= this.#measureWithRetry().finally(() => {
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
    await this.#inFlight?.catch(() => undefined); // the shared bus stays with the BusProvider
  }

  async #initialise(): Promise<void> {
    try {
      await this.#bus.transaction(async (io) => {
        await io.write(this.#address, commandBytes(Sht31Command.SOFT_RESET));
        await sleep(this.#clock, Math.ceil(SOFT_RESET_MAX_MS));
        await io.write(this.#address, commandBytes(Sht31Command.READ_STATUS));
        const status = await io.read(this.#address, 3);
        if (checkedWords(status, 1) === undefined) {
          throw new DriverError(DriverErrorCode.BAD_DEVICE, `no SHT3x at 0x${this.#address.toString(16)}: status register CRC mismatch`);
        }
      });
    } catch (err) {
      throw asDriverError(err, `SHT31 ${this.id} init`);
    }
  }

  async #measureWithRetry(): Promise<Sht31Reading> {
    try {
      for (let attempt = 0; ; attempt++) {
        const data = await this.#bus.transaction(async (io) => {
          await io.write(this.#address, commandBytes(Sht31Command.MEASURE_HIGH_NO_STRETCH));
          await sleep(this.#clock, MEASUREMENT_MAX_MS_HIGH); // Table 4 max; reading earlier would be NACKed
          return io.read(this.#address, 6);
        });
        const words = checkedWords(data, 2);
        if (words !== undefined) {
          const [rawT = 0, rawRh = 0] = words;
          const reading = { temperature: temperatureFromRaw(rawT), humidity: humidityFromRaw(rawRh) };
          this.#status.ok({ ...reading });
          return reading;
        }
        if (attempt >= CRC_RETRIES) {
          throw new DriverError(DriverErrorCode.BAD_DEVICE, `SHT31 ${this.id}: CRC mismatch in ${attempt + 1} measurements`);
        }
      }
    } catch (err) {
      const error = asDriverError(err, `SHT31 ${this.id} read`);
      this.#status.fail(error);
      throw error;
    }
  }
}
