/**
 * A simulated SHT31 on the I²C wire (SHT3x-DIS datasheet): 16-bit commands, single-shot measurements that take
 * the Table 4 typical duration on the injected clock, the read header NACKed while no data is ready (§4.3
 * Table 9 without clock stretching; §4.6: "if no measurement data is present the I2C read header is responded
 * with a NACK"), data cleared once read, every word followed by its
 * CRC-8 (§4.12), the status register (§4.11) and soft reset (§4.9). Test control: `corruptNextCrc()`.
 */
import type { Clock } from '../../../runtime/clock.ts';
import type { SimI2cPeripheral } from '../../sim-world.ts';
import { SimEnvironment, type Environment } from '../sim-environment.ts';
import { Sht31Command, rawFromHumidity, rawFromTemperature, wordWithCrc } from './sht31-protocol.ts';

/** Table 4 typical measurement durations by repeatability, ms. */
const DURATION_MS: Record<number, number> = {
  [Sht31Command.MEASURE_HIGH_NO_STRETCH]: 12.5,
  [Sht31Command.MEASURE_MEDIUM_NO_STRETCH]: 4.5,
  [Sht31Command.MEASURE_LOW_NO_STRETCH]: 2.5,
  // With clock stretching the sensor holds SCL until done: to the host the read simply completes.
  [Sht31Command.MEASURE_HIGH_STRETCH]: 0,
  [Sht31Command.MEASURE_MEDIUM_STRETCH]: 0,
  [Sht31Command.MEASURE_LOW_STRETCH]: 0,
};

/** §4.11 Table 17: alert pending (bit 15) and system reset detected (bit 4) are set after a reset. */
const STATUS_AFTER_RESET = 0x8010;
const STATUS_CLEARABLE = 0x8c10; // bits 15, 11, 10, 4 (Table 18)

/** A NACK as a Linux I²C adapter reports it. */
function nack(what: string): Error {
  return Object.assign(new Error(`SHT31 NACK: ${what}`), { code: 'EREMOTEIO' });
}

export interface SimSht31Options {
  clock: Clock;
  random?: () => number;
}

export class SimSht31 implements SimI2cPeripheral {
  readonly environment: SimEnvironment;
  readonly #clock: Clock;
  #status = STATUS_AFTER_RESET;
  #pendingRead: 'status' | 'measurement' | undefined;
  #readyAt = 0;
  #corruptReads = 0;

  constructor(options: SimSht31Options) {
    this.#clock = options.clock;
    this.environment = new SimEnvironment(options.clock, options.random);
  }

  /** Test control: pin the environment (°C, %RH; pressure is ignored). */
  setEnvironment(values: Partial<Environment>): void {
    this.environment.set(values);
  }

  /** Test control: the next `count` measurement reads carry a wrong temperature CRC. */
  corruptNextCrc(count = 1): void {
    this.#corruptReads = count;
  }

  write(data: Buffer): void {
    if (data.length < 2) throw nack('incomplete command');
    const command = data.readUInt16BE(0);
    const duration = DURATION_MS[command];
    if (duration !== undefined) {
      this.#pendingRead = 'measurement';
      this.#readyAt = this.#clock.now() + duration;
      return;
    }
    switch (command) {
      case Sht31Command.SOFT_RESET:
        this.#status = STATUS_AFTER_RESET;
        this.#pendingRead = undefined;
        return;
      case Sht31Command.READ_STATUS:
        this.#pendingRead = 'status';
        return;
      case Sht31Command.CLEAR_STATUS:
        this.#status &= ~STATUS_CLEARABLE;
        return;
      default:
        throw nack(`unknown command 0x${command.toString(16)}`);
    }
  }

  read(length: number): Buffer {
    if (this.#pendingRead === 'status') {
      this.#pendingRead = undefined;
      return wordWithCrc(this.#status).subarray(0, length);
    }
    if (this.#pendingRead !== 'measurement' || this.#clock.now() < this.#readyAt) throw nack('no measurement data');
    this.#pendingRead = undefined;
    const env = this.environment.sample();
    const data = Buffer.concat([wordWithCrc(rawFromTemperature(env.temperature)), wordWithCrc(rawFromHumidity(env.humidity))]);
    if (this.#corruptReads > 0) {
      this.#corruptReads--;
      data[2] = (data[2] ?? 0) ^ 0x01;
    }
    return data.subarray(0, length);
  }
}
