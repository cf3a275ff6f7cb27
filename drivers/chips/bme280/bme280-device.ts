/**
 * The BME280 sensor device (Bosch BST-BME280-DS002), written against the I²C bus contract only, so it runs
 * unchanged on /dev/i2c-N and on the sim bus. Operating mode: forced mode, oversampling x1 for T, P and H, IIR
 * filter off — the datasheet's "weather monitoring" recommendation (§3.5.1) — one conversion per read.
 */
import type { Clock } from '../../../runtime/clock.ts';
import { DriverError, DriverErrorCode } from '../../errors.ts';
import type { I2cIo, II2cBus } from '../../i2c/i2c-bus.ts';
import { asDriverError, sleep } from '../driver-context.ts';
import { MeasuringSensor } from '../measuring-sensor.ts';
import { parseCalibration, type Bme280Calibration } from './calibration.ts';
import { compensateHumidity, compensatePressure, compensateTemperature, decodeRawSample } from './compensation.ts';
import {
  ADC_SKIPPED_20, BME280_CHIP_ID, BMP280_CHIP_IDS, CALIB_00_LENGTH, CALIB_26_LENGTH, CTRL_HUM_X1, CTRL_MEAS_FORCED_X1,
  DATA_LENGTH, MODE_SLEEP, RESET_COMMAND, Reg, STATUS_IM_UPDATE, STATUS_MEASURING, measurementTimeMs,
} from './registers.ts';

export const BME280_QUANTITIES = ['temperature', 'humidity', 'pressure'] as const;
export type Bme280Quantity = (typeof BME280_QUANTITIES)[number];
export type Bme280Reading = Record<Bme280Quantity, number>;

/** Table 1: start-up time after power-on / soft reset, 2 ms max. */
const STARTUP_MS = 2;
/** §9.1 maximum measurement time at x1/x1/x1: 1.25 + 2.3 + 2.875 + 2.875 = 9.3 ms, rounded up. */
const MEASUREMENT_WAIT_MS = Math.ceil(measurementTimeMs(1, 1, 1, 'max'));
/** Status polls after the maximum time has passed, 1 ms apart, before giving up (bounded: never spin). */
const MAX_STATUS_POLLS = 5;

export interface Bme280DeviceOptions {
  id: string;
  bus: II2cBus;
  address: number;
  clock: Clock;
}

export class Bme280Device extends MeasuringSensor<Bme280Quantity> {
  readonly driver = 'bme280';
  readonly #bus: II2cBus;
  readonly #address: number;
  readonly #clock: Clock;
  #calibration: Bme280Calibration | undefined;

  /** Checks the chip, resets it, reads its calibration and configures it; rejects with a DriverError. */
  static async open(options: Bme280DeviceOptions): Promise<Bme280Device> {
    const device = new Bme280Device(options);
    await device.#initialise();
    return device;
  }

  private constructor(options: Bme280DeviceOptions) {
    super(options.id, 'BME280', BME280_QUANTITIES, options.clock);
    this.#bus = options.bus;
    this.#address = options.address;
    this.#clock = options.clock;
  }

  get calibration(): Readonly<Bme280Calibration> | undefined {
    return this.#calibration;
  }

  async #initialise(): Promise<void> {
    try {
      this.#calibration = await this.#bus.transaction(async (io) => {
        const id = await io.readByte(this.#address, Reg.ID);
        if (id !== BME280_CHIP_ID) {
          const hint = BMP280_CHIP_IDS.includes(id) ? ' (a BMP280: no humidity sensor)' : '';
          throw new DriverError(
            DriverErrorCode.BAD_DEVICE,
            `no BME280 at 0x${this.#address.toString(16)}: chip id 0x${id.toString(16)}, expected 0x60${hint}`,
          );
        }
        await io.writeByte(this.#address, Reg.RESET, RESET_COMMAND); // §5.4.2
        await sleep(this.#clock, STARTUP_MS);
        await this.#pollStatusClear(io, STATUS_IM_UPDATE, 'NVM copy after reset');
        const block1 = await io.readBlock(this.#address, Reg.CALIB_00, CALIB_00_LENGTH);
        const block2 = await io.readBlock(this.#address, Reg.CALIB_26, CALIB_26_LENGTH);
        const calibration = parseCalibration(block1, block2);
        // §5.4.6: config (filter off) is written in sleep mode, where writes are guaranteed to take effect.
        await io.writeByte(this.#address, Reg.CTRL_MEAS, MODE_SLEEP);
        await io.writeByte(this.#address, Reg.CONFIG, 0x00);
        await io.writeByte(this.#address, Reg.CTRL_HUM, CTRL_HUM_X1);
        return calibration;
      });
    } catch (err) {
      throw asDriverError(err, `BME280 ${this.id} init`);
    }
  }

  protected async measureOnce(): Promise<Bme280Reading> {
    let reading = await this.#convert();
    // A skipped temperature/pressure means the chip lost its configuration (brown-out reset): once more.
    reading ??= await this.#convert();
    if (reading === undefined) {
      throw new DriverError(DriverErrorCode.BAD_DEVICE, `BME280 ${this.id} reports skipped measurements (0x80000)`);
    }
    return reading;
  }

  async #convert(): Promise<Bme280Reading | undefined> {
    const calibration = this.#calibration;
    if (calibration === undefined) throw new DriverError(DriverErrorCode.BAD_DEVICE, `BME280 ${this.id} not initialised`);
    const data = await this.#bus.transaction(async (io) => {
      // §5.4.3: ctrl_hum only takes effect after a ctrl_meas write, so it goes first. Rewriting it every time
      // also restores it after a chip reset behind our back.
      await io.writeByte(this.#address, Reg.CTRL_HUM, CTRL_HUM_X1);
      await io.writeByte(this.#address, Reg.CTRL_MEAS, CTRL_MEAS_FORCED_X1); // §3.3.3 forced mode
      await sleep(this.#clock, MEASUREMENT_WAIT_MS);
      await this.#pollStatusClear(io, STATUS_MEASURING, 'conversion');
      return io.readBlock(this.#address, Reg.PRESS_MSB, DATA_LENGTH); // one burst: §4 data shadowing
    });
    const raw = decodeRawSample(data);
    // Linux's bmp280 driver rejects these markers the same way; humidity's 0x8000 is also a legal reading
    // (about 70 %RH), and ctrl_hum is rewritten before every conversion, so it is not treated as skipped.
    if (raw.adcT === ADC_SKIPPED_20 || raw.adcP === ADC_SKIPPED_20) return undefined;
    const { temperature, tFine } = compensateTemperature(raw.adcT, calibration);
    return {
      temperature,
      pressure: compensatePressure(raw.adcP, tFine, calibration) / 100, // Pa -> hPa
      humidity: compensateHumidity(raw.adcH, tFine, calibration),
    };
  }

  /** Polls status (0xF3, §5.4.4) until `bit` clears, at most MAX_STATUS_POLLS times 1 ms apart. */
  async #pollStatusClear(io: I2cIo, bit: number, what: string): Promise<void> {
    for (let poll = 0; ; poll++) {
      const status = await io.readByte(this.#address, Reg.STATUS);
      if ((status & bit) === 0) return;
      if (poll >= MAX_STATUS_POLLS) {
        throw new DriverError(DriverErrorCode.TIMEOUT, `BME280 ${this.id}: ${what} still running after ${MAX_STATUS_POLLS} status polls`);
      }
      await sleep(this.#clock, 1);
    }
  }
}
