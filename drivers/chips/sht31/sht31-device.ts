/**
 * The SHT31 humidity/temperature sensor device (Sensirion SHT3x-DIS), on the I²C bus contract. Each read is a
 * single-shot, high-repeatability measurement without clock stretching (command 0x2400, §4.3): clock stretching
 * is avoided because not every I²C master supports it (the Pi's BCM2835 controller is known to mishandle it).
 */
import type { Clock } from '../../../runtime/clock.ts';
import { DriverError, DriverErrorCode } from '../../errors.ts';
import type { II2cBus } from '../../i2c/i2c-bus.ts';
import { asDriverError, sleep } from '../driver-context.ts';
import { MeasuringSensor } from '../measuring-sensor.ts';
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

export class Sht31Device extends MeasuringSensor<Sht31Quantity> {
  readonly driver = 'sht31';
  readonly #bus: II2cBus;
  readonly #address: number;
  readonly #clock: Clock;

  /** Soft-resets the sensor and reads its status register (CRC-checked) to make sure an SHT3x answers. */
  static async open(options: Sht31DeviceOptions): Promise<Sht31Device> {
    const device = new Sht31Device(options);
    await device.#initialise();
    return device;
  }

  private constructor(options: Sht31DeviceOptions) {
    super(options.id, 'SHT31', SHT31_QUANTITIES, options.clock);
    this.#bus = options.bus;
    this.#address = options.address;
    this.#clock = options.clock;
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

  /** A CRC mismatch is retried with a fresh measurement (CRC_RETRIES times), then BAD_DEVICE. */
  protected async measureOnce(): Promise<Sht31Reading> {
    for (let attempt = 0; ; attempt++) {
      const data = await this.#bus.transaction(async (io) => {
        await io.write(this.#address, commandBytes(Sht31Command.MEASURE_HIGH_NO_STRETCH));
        await sleep(this.#clock, MEASUREMENT_MAX_MS_HIGH); // Table 4 max; reading earlier would be NACKed
        return io.read(this.#address, 6);
      });
      const words = checkedWords(data, 2);
      if (words !== undefined) {
        const [rawT = 0, rawRh = 0] = words;
        return { temperature: temperatureFromRaw(rawT), humidity: humidityFromRaw(rawRh) };
      }
      if (attempt >= CRC_RETRIES) {
        throw new DriverError(DriverErrorCode.BAD_DEVICE, `SHT31 ${this.id}: CRC mismatch in ${attempt + 1} measurements`);
      }
    }
  }
}
