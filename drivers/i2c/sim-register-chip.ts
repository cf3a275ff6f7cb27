/**
 * A reusable SimI2cPeripheral for register-mapped chips (BME280, MCP9808, MPU-6050, PCA9685, ADS1115-style
 * pointer chips...). Chip simulations extend it and only model what is chip-specific.
 *
 * The model (what most register chips' datasheets describe, e.g. BME280 datasheet §6.2 "I²C interface"):
 * - a 256-byte register file and a register pointer;
 * - a write transfer's first byte sets the pointer; the following bytes are register data, written either
 *   sequentially with an auto-incrementing pointer (`writeMode: 'sequential'`, the default: MCP23017, PCA9685
 *   with AI set...) or as (register, value) pairs (`writeMode: 'pairs'`: BME280 §6.2.1 "Writing is done by
 *   sending the slave address in write mode, followed by pairs of register addresses and register data");
 * - a read transfer returns bytes from the pointer, auto-incrementing (BME280 §6.2.2 burst read); the pointer
 *   wraps from 0xFF to 0x00;
 * - master writes respect read-only bits: for each register, `readOnly` holds a mask of the bits a write cannot
 *   change (0xFF = a read-only register such as a chip id or calibration data).
 *
 * Extending it:
 *
 * ```ts
 * class SimBme280 extends SimRegisterChip {
 *   constructor() {
 *     super({ registers: { 0xd0: 0x60 }, readOnly: { 0xd0: 0xff }, writeMode: 'pairs' });
 *   }
 *   protected override onRegisterWrite(register: number, value: number): void {
 *     if (register === 0xe0 && value === 0xb6) this.reset();            // soft reset (§5.4.2)
 *     if (register === 0xf4 && (value & 0x03) !== 0) this.convert();    // ctrl_meas: start a measurement
 *   }
 *   protected override onRegisterRead(register: number): void {
 *     if (register === 0xf7) this.latchMeasurement();                   // burst read starts at press_msb
 *   }
 * }
 * ```
 *
 * `set()` / `setBlock()` are the chip model's (and tests') way to change registers — they bypass the read-only
 * masks and call no hooks; `get()` / `getBlock()` read without moving the pointer or calling hooks.
 */
import { DriverError, DriverErrorCode } from '../errors.ts';
import type { SimI2cPeripheral } from '../sim-world.ts';

export const REGISTER_FILE_SIZE = 256;

export interface SimRegisterChipOptions {
  /** Initial register values: a map register -> byte, or a whole/partial image starting at register 0. */
  registers?: Readonly<Record<number, number>> | Uint8Array;
  /** Per register, the bits master writes cannot change (0xff: fully read-only). */
  readOnly?: Readonly<Record<number, number>>;
  /** How data bytes after the pointer byte of a write transfer are stored (see the file comment). */
  writeMode?: 'sequential' | 'pairs';
}

function checkRegister(register: number): void {
  if (!Number.isInteger(register) || register < 0 || register >= REGISTER_FILE_SIZE) {
    throw new DriverError(DriverErrorCode.INVALID_ARGUMENT, `register must be 0x00-0xff, got ${register}`);
  }
}

function checkByte(value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xff) {
    throw new DriverError(DriverErrorCode.INVALID_ARGUMENT, `register value must be 0-255, got ${value}`);
  }
}

export class SimRegisterChip implements SimI2cPeripheral {
  /** The register file. Subclasses may read it directly; prefer set() for writes so checks apply. */
  protected readonly registers = new Uint8Array(REGISTER_FILE_SIZE);
  private readonly readOnlyMasks = new Uint8Array(REGISTER_FILE_SIZE);
  private readonly writeMode: 'sequential' | 'pairs';
  private pointerValue = 0;

  constructor(options: SimRegisterChipOptions = {}) {
    this.writeMode = options.writeMode ?? 'sequential';
    const initial = options.registers;
    if (initial instanceof Uint8Array) {
      if (initial.length > REGISTER_FILE_SIZE) {
        throw new DriverError(DriverErrorCode.INVALID_ARGUMENT, `register image is larger than ${REGISTER_FILE_SIZE} bytes`);
      }
      this.registers.set(initial);
    } else if (initial) {
      for (const [register, value] of Object.entries(initial)) this.set(Number(register), value);
    }
    for (const [register, mask] of Object.entries(options.readOnly ?? {})) this.setReadOnly(Number(register), mask);
  }

  /** The register pointer: where the next read starts. */
  get pointer(): number {
    return this.pointerValue;
  }

  // ---- SimI2cPeripheral: what the bus calls --------------------------------------------------------------

  write(data: Buffer): void {
    if (data.length === 0) return; // an address-only write (a probe) changes nothing
    this.pointerValue = data[0] ?? 0;
    if (this.writeMode === 'pairs') {
      // [reg, value, reg, value...]: the first byte was a register address too.
      for (let i = 0; i + 1 < data.length; i += 2) {
        this.pointerValue = data[i] ?? 0;
        this.masterWrite(this.pointerValue, data[i + 1] ?? 0);
        this.pointerValue = (this.pointerValue + 1) % REGISTER_FILE_SIZE;
      }
      // A trailing lone register address (e.g. [reg] before a read) just sets the pointer.
      if (data.length % 2 === 1) this.pointerValue = data[data.length - 1] ?? 0;
      return;
    }
    for (let i = 1; i < data.length; i += 1) {
      this.masterWrite(this.pointerValue, data[i] ?? 0);
      this.pointerValue = (this.pointerValue + 1) % REGISTER_FILE_SIZE;
    }
  }

  read(length: number): Buffer {
    const out = Buffer.alloc(length);
    for (let i = 0; i < length; i += 1) {
      this.onRegisterRead(this.pointerValue);
      out[i] = this.registers[this.pointerValue] ?? 0;
      this.pointerValue = (this.pointerValue + 1) % REGISTER_FILE_SIZE;
    }
    return out;
  }

  // ---- The chip model's and tests' controls -------------------------------------------------------------

  /** A register's value, without hooks or pointer movement. */
  get(register: number): number {
    checkRegister(register);
    return this.registers[register] ?? 0;
  }

  /** Sets a register as the chip itself would (ignores read-only masks, calls no hook). */
  set(register: number, value: number): void {
    checkRegister(register);
    checkByte(value);
    this.registers[register] = value;
  }

  /** `length` registers from `register` (no wrap), without hooks. */
  getBlock(register: number, length: number): Buffer {
    checkRegister(register);
    if (!Number.isInteger(length) || length < 0 || register + length > REGISTER_FILE_SIZE) {
      throw new DriverError(DriverErrorCode.INVALID_ARGUMENT, `block 0x${register.toString(16)}+${length} is outside the register file`);
    }
    return Buffer.from(this.registers.subarray(register, register + length));
  }

  /** Sets consecutive registers from `register` (no wrap), ignoring read-only masks. */
  setBlock(register: number, data: ArrayLike<number>): void {
    checkRegister(register);
    if (register + data.length > REGISTER_FILE_SIZE) {
      throw new DriverError(DriverErrorCode.INVALID_ARGUMENT, `block 0x${register.toString(16)}+${data.length} is outside the register file`);
    }
    for (let i = 0; i < data.length; i += 1) checkByte(data[i] ?? -1);
    this.registers.set(Array.from(data), register);
  }

  /** Marks bits of a register read-only for master writes (mask 0xff: the whole register). */
  setReadOnly(register: number, mask = 0xff): void {
    checkRegister(register);
    checkByte(mask);
    this.readOnlyMasks[register] = mask;
  }

  // ---- Hooks for subclasses ---------------------------------------------------------------------------------

  /**
   * After a master write stored `value` (already masked) into `register`; `previous` is the value before.
   * Model side effects here: start a conversion, soft reset, clear-on-write status bits. May call set().
   */
  protected onRegisterWrite(_register: number, _value: number, _previous: number): void {}

  /**
   * Before each byte of a read transfer is taken from `register`. Refresh measurement registers here
   * (BME280 datasheet §3.9 "Data readout": a burst read is served from shadow registers latched when it starts).
   */
  protected onRegisterRead(_register: number): void {}

  private masterWrite(register: number, value: number): void {
    const previous = this.registers[register] ?? 0;
    const mask = this.readOnlyMasks[register] ?? 0;
    const stored = (previous & mask) | (value & ~mask & 0xff);
    this.registers[register] = stored;
    this.onRegisterWrite(register, stored, previous);
  }
}
