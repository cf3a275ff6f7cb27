/**
 * Argument checks shared by every I²C binding, run before an operation is queued or touches the bus, so the real
 * and sim bindings reject exactly the same calls with ERR_DRIVER_INVALID_ARGUMENT.
 */
import { DriverError, DriverErrorCode } from '../errors.ts';

/**
 * 7-bit addresses a device may use. UM10204 (I²C-bus specification) §3.1.12 Table 4 reserves 0000xxx (general
 * call, START byte, CBUS, other bus formats, Hs-mode master codes) and 1111xxx (10-bit addressing, device ID);
 * 0x03-0x77 is the range i2cdetect and i2c-bus's scan() probe, and what Linux lets user space address.
 */
export const I2C_ADDRESS_MIN = 0x03;
export const I2C_ADDRESS_MAX = 0x77;
/** SMBus I²C-block transfers carry at most 32 data bytes (I2C_SMBUS_BLOCK_MAX, include/uapi/linux/i2c.h). */
export const I2C_BLOCK_MAX = 32;
/** Plain read()/write() on /dev/i2c-N: drivers/i2c/i2c-dev.c caps one transfer at 8192 bytes. */
export const I2C_PLAIN_MAX = 8192;

function invalid(message: string): DriverError {
  return new DriverError(DriverErrorCode.INVALID_ARGUMENT, message);
}

const hex = (n: unknown): string => (typeof n === 'number' && Number.isInteger(n) ? `0x${n.toString(16)}` : String(n));

export function checkAddress(address: unknown): asserts address is number {
  if (typeof address !== 'number' || !Number.isInteger(address) || address < I2C_ADDRESS_MIN || address > I2C_ADDRESS_MAX) {
    throw invalid(`I2C address must be an integer 0x03-0x77, got ${hex(address)}`);
  }
}

export function checkRegister(register: unknown): asserts register is number {
  if (typeof register !== 'number' || !Number.isInteger(register) || register < 0 || register > 0xff) {
    throw invalid(`I2C register must be an integer 0x00-0xff, got ${hex(register)}`);
  }
}

export function checkByte(value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xff) {
    throw invalid(`I2C byte value must be an integer 0-255, got ${String(value)}`);
  }
}

export function checkLength(length: unknown, max: number): asserts length is number {
  if (typeof length !== 'number' || !Number.isInteger(length) || length < 1 || length > max) {
    throw invalid(`I2C transfer length must be an integer 1-${max}, got ${String(length)}`);
  }
}

/** A Buffer of 1..max bytes (a Buffer's elements are bytes by construction). */
export function checkData(data: unknown, max: number): asserts data is Buffer {
  if (!Buffer.isBuffer(data)) throw invalid('I2C data must be a Buffer');
  checkLength(data.length, max);
}

export function checkBusNumber(busNumber: unknown): asserts busNumber is number {
  if (typeof busNumber !== 'number' || !Number.isSafeInteger(busNumber) || busNumber < 0) {
    throw invalid(`I2C bus number must be a non-negative integer, got ${String(busNumber)}`);
  }
}
