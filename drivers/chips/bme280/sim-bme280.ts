/**
 * A simulated BME280 as the I²C wire sees it (docs/ARCHITECTURE.md "HAL and devices": the sim board is a product feature): the register file
 * of BST-BME280-DS002 §5.3 with the chip's behaviour — chip id 0x60, soft reset (0xE0 <- 0xB6, §5.4.2) with the
 * NVM copy flagged in status.im_update for the 2 ms start-up time (Table 1), ctrl_hum latched by the next
 * ctrl_meas write (§5.4.3), forced mode converting for the typical measurement time (§9.1) with status.measuring
 * set, then returning to sleep (§3.3.3), normal mode cycling with t_standby (§3.3.4, §5.4.6), and data registers
 * holding raw ADC readings computed by inverting the compensation formulas for the simulated environment, so the
 * real driver reads back plausible values. Time is the injected clock's; nothing runs between bus transfers.
 * Not modelled: the IIR filter and oversampling noise reduction.
 */
import type { Clock } from '../../../runtime/clock.ts';
import { SimRegisterChip } from '../../i2c/sim-register-chip.ts';
import { SimEnvironment, type Environment } from '../sim-environment.ts';
import { encodeCalibration, type Bme280Calibration } from './calibration.ts';
import { encodeRawSample } from './compensation.ts';
import { rawFromEnvironment } from './inverse-compensation.ts';
import {
  ADC_SKIPPED_16, ADC_SKIPPED_20, BME280_CHIP_ID, MODE_NORMAL, MODE_SLEEP, RESET_COMMAND, Reg,
  STATUS_IM_UPDATE, STATUS_MEASURING, measurementTimeMs, oversamplingFactor,
} from './registers.ts';

/** Trimming parameters in the range of production parts (the sim's NVM). */
export const SIM_BME280_CALIBRATION: Readonly<Bme280Calibration> = {
  digT1: 28009, digT2: 26287, digT3: 50,
  digP1: 37584, digP2: -10634, digP3: 3024, digP4: 7271, digP5: -84, digP6: -7, digP7: 9900, digP8: -10230, digP9: 4285,
  digH1: 75, digH2: 362, digH3: 0, digH4: 315, digH5: 50, digH6: 30,
};

/** Start-up time after power-on or soft reset (Table 1, t_startup). */
const STARTUP_MS = 2;
/** §5.4.6 Table 27: t_sb[2:0] -> standby time in normal mode, ms. */
const STANDBY_MS = [0.5, 62.5, 125, 250, 500, 1000, 10, 20] as const;

export interface SimBme280Options {
  clock: Clock;
  random?: () => number;
  calibration?: Bme280Calibration;
}

/** Registers a master can write, and the bits of each it cannot (§5.3 Table 18: everything else is read-only). */
const WRITABLE: Readonly<Record<number, number>> = {
  [Reg.RESET]: 0x00,
  [Reg.CTRL_HUM]: 0xf8, // osrs_h[2:0] only
  [Reg.CTRL_MEAS]: 0x00,
  [Reg.CONFIG]: 0x02, // bit 1 is reserved
};

function readOnlyMasks(): Record<number, number> {
  const masks: Record<number, number> = {};
  for (let register = 0; register < 256; register++) masks[register] = WRITABLE[register] ?? 0xff;
  return masks;
}

export class SimBme280 extends SimRegisterChip {
  readonly environment: SimEnvironment;
  readonly #clock: Clock;
  readonly #calibration: Bme280Calibration;
  #resetUntil = -Infinity;
  /** Forced mode: the one conversion in progress. */
  #conversionEndsAt: number | undefined;
  /** Normal mode: when the cycling started, and the last cycle whose result is in the data registers. */
  #normalSince: number | undefined;
  #normalCycle = -1;
  /** osrs_h as latched by the last ctrl_meas write (§5.4.3). */
  #latchedOsrsH = 0;

  constructor(options: SimBme280Options) {
    // §6.2.1: auto-increment is not supported for writes; several registers are written as (register, data) pairs.
    super({ registers: { [Reg.ID]: BME280_CHIP_ID }, readOnly: readOnlyMasks(), writeMode: 'pairs' });
    this.#clock = options.clock;
    this.#calibration = { ...(options.calibration ?? SIM_BME280_CALIBRATION) };
    this.environment = new SimEnvironment(options.clock, options.random);
    const { block1, block2 } = encodeCalibration(this.#calibration);
    this.setBlock(Reg.CALIB_00, block1);
    this.setBlock(Reg.CALIB_26, block2);
    this.#powerOnReset();
  }

  /** Test control: pin the simulated environment (°C, %RH, hPa); unset quantities keep drifting. */
  setEnvironment(values: Partial<Environment>): void {
    this.environment.set(values);
  }

  /** Test control / inspection: a register's current value as the next read would return it. */
  peek(register: number): number {
    this.#settle();
    return this.get(register);
  }

  override write(data: Buffer): void {
    this.#settle();
    super.write(data);
  }

  /** Settles once per read transfer, so a burst read is consistent (§4 "data register shadowing"). */
  override read(length: number): Buffer {
    this.#settle();
    return super.read(length);
  }

  protected override onRegisterWrite(register: number, value: number): void {
    if (register === Reg.RESET) {
      this.set(Reg.RESET, 0); // reads as 0x00
      if (value === RESET_COMMAND) this.#powerOnReset();
    } else if (register === Reg.CTRL_MEAS) {
      this.#startMode(value);
    }
  }

  #startMode(value: number): void {
    this.#latchedOsrsH = this.get(Reg.CTRL_HUM); // §5.4.3: ctrl_hum takes effect now
    const mode = value & 0b11;
    const now = this.#clock.now();
    this.#conversionEndsAt = undefined;
    this.#normalSince = undefined;
    if (mode === MODE_SLEEP) return;
    if (mode === MODE_NORMAL) {
      this.#normalSince = now;
      this.#normalCycle = -1;
      return;
    }
    this.#conversionEndsAt = now + this.#measurementMs(); // forced: 0b01 or 0b10
  }

  #measurementMs(): number {
    const ctrl = this.get(Reg.CTRL_MEAS);
    return measurementTimeMs(oversamplingFactor(ctrl >> 5), oversamplingFactor(ctrl >> 2), oversamplingFactor(this.#latchedOsrsH), 'typical');
  }

  /** Brings status and data registers up to the clock's now. */
  #settle(): void {
    const now = this.#clock.now();
    let measuring = false;
    if (this.#conversionEndsAt !== undefined) {
      if (now >= this.#conversionEndsAt) {
        this.#conversionEndsAt = undefined;
        this.#latchData();
        this.set(Reg.CTRL_MEAS, this.get(Reg.CTRL_MEAS) & ~0b11 & 0xff); // §3.3.3: back to sleep
      } else {
        measuring = true;
      }
    } else if (this.#normalSince !== undefined) {
      const tMeasure = this.#measurementMs();
      const period = tMeasure + (STANDBY_MS[((this.get(Reg.CONFIG)) >> 5) & 0b111] ?? 0);
      const elapsed = now - this.#normalSince;
      const cycle = Math.floor(elapsed / period);
      const completed = elapsed - cycle * period >= tMeasure ? cycle : cycle - 1;
      measuring = elapsed - cycle * period < tMeasure;
      if (completed > this.#normalCycle) {
        this.#normalCycle = completed;
        this.#latchData();
      }
    }
    this.set(Reg.STATUS, (measuring ? STATUS_MEASURING : 0) | (now < this.#resetUntil ? STATUS_IM_UPDATE : 0));
  }

  /** A conversion finished: raw readings of the environment now, "skipped" for disabled channels (§5.4.7-9). */
  #latchData(): void {
    const ctrl = this.get(Reg.CTRL_MEAS);
    const env = this.environment.sample();
    const raw = rawFromEnvironment(this.#calibration, env.temperature, env.pressure * 100, env.humidity);
    if ((ctrl >> 5) === 0) raw.adcT = ADC_SKIPPED_20;
    if (((ctrl >> 2) & 0b111) === 0) raw.adcP = ADC_SKIPPED_20;
    if ((this.#latchedOsrsH & 0b111) === 0) raw.adcH = ADC_SKIPPED_16;
    this.setBlock(Reg.PRESS_MSB, encodeRawSample(raw));
  }

  /** §5.4.2 / §5.3 reset values: control registers 0, data registers "skipped", NVM copied again. */
  #powerOnReset(): void {
    this.set(Reg.CTRL_HUM, 0);
    this.set(Reg.CTRL_MEAS, 0);
    this.set(Reg.CONFIG, 0);
    this.setBlock(Reg.PRESS_MSB, encodeRawSample({ adcP: ADC_SKIPPED_20, adcT: ADC_SKIPPED_20, adcH: ADC_SKIPPED_16 }));
    this.#latchedOsrsH = 0;
    this.#conversionEndsAt = undefined;
    this.#normalSince = undefined;
    this.#resetUntil = this.#clock.now() + STARTUP_MS;
  }
}
