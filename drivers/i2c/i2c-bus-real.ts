/**
 * Real I²C binding: /dev/i2c-N through the `i2c-bus` package (its promisified API), as a thin RawI2cTransport
 * under SerialisedI2cBus (queue, retries, validation and errors live there).
 *
 * i2c-bus is loaded lazily: it `require`s its native addon at import time, and a machine without it must get
 * ERR_DRIVER_UNAVAILABLE from openI2cBus(), not a crash when the driver table is imported.
 *
 * Mapping (SMBus names from Documentation/i2c/smbus-protocol.rst):
 *   readByte   -> readByte        (SMBus "read byte data": S addr Wr [reg] Sr addr Rd [data] P)
 *   writeByte  -> writeByte       (SMBus "write byte data")
 *   readBlock  -> readI2cBlock    (I2C_SMBUS_I2C_BLOCK_DATA: register, repeated start, `length` bytes)
 *   writeBlock -> writeI2cBlock
 *   write/read -> i2cWrite/i2cRead (plain write()/read() on the device file: no register byte)
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import type { PromisifiedBus } from 'i2c-bus';
import { DriverError, DriverErrorCode } from '../errors.ts';
import { checkBusNumber } from './i2c-arguments.ts';
import type { II2cBus } from './i2c-bus.ts';
import { SerialisedI2cBus, type I2cRetryOptions, type RawI2cTransport } from './serialised-bus.ts';

/** The part of i2c-bus's PromisifiedBus this binding uses (a test can provide a fake). */
export type I2cBusPromisified = Pick<
  PromisifiedBus,
  'readByte' | 'writeByte' | 'readI2cBlock' | 'writeI2cBlock' | 'i2cRead' | 'i2cWrite' | 'close'
>;

/** What the binding needs from the `i2c-bus` module. */
export interface I2cBusModule {
  openPromisified(busNumber: number): Promise<I2cBusPromisified>;
}

export interface RealI2cBusOptions extends I2cRetryOptions {
  /** Loads i2c-bus. Default: `import('i2c-bus')`. */
  loadBinding?: () => Promise<I2cBusModule>;
  /**
   * Checks the device node can be opened read-write. Default fs.access(R_OK | W_OK). Needed because i2c-bus
   * opens /dev/i2c-N lazily, per address, on the first transfer: without this check a missing node would only
   * show up as a failing read much later.
   */
  checkDevice?: (path: string) => Promise<void>;
}

async function importI2cBus(): Promise<I2cBusModule> {
  const i2c = await import('i2c-bus');
  return { openPromisified: (busNumber) => i2c.openPromisified(busNumber) };
}

/** A short transfer means the adapter aborted it mid-way; report it as the kernel's generic EIO (retried). */
function shortTransfer(what: string, got: number, wanted: number): Error {
  return Object.assign(new Error(`EIO: short ${what}: ${got} of ${wanted} bytes`), { code: 'EIO' });
}

class I2cBusTransport implements RawI2cTransport {
  constructor(private readonly bus: I2cBusPromisified) {}

  readByte(address: number, register: number): Promise<number> {
    return this.bus.readByte(address, register);
  }

  writeByte(address: number, register: number, value: number): Promise<void> {
    return this.bus.writeByte(address, register, value);
  }

  async readBlock(address: number, register: number, length: number): Promise<Buffer> {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await this.bus.readI2cBlock(address, register, length, buffer);
    if (bytesRead !== length) throw shortTransfer('block read', bytesRead, length);
    return buffer;
  }

  async writeBlock(address: number, register: number, data: Buffer): Promise<void> {
    const { bytesWritten } = await this.bus.writeI2cBlock(address, register, data.length, data);
    if (bytesWritten !== data.length) throw shortTransfer('block write', bytesWritten, data.length);
  }

  async write(address: number, data: Buffer): Promise<void> {
    const { bytesWritten } = await this.bus.i2cWrite(address, data.length, data);
    if (bytesWritten !== data.length) throw shortTransfer('write', bytesWritten, data.length);
  }

  async read(address: number, length: number): Promise<Buffer> {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await this.bus.i2cRead(address, length, buffer);
    if (bytesRead !== length) throw shortTransfer('read', bytesRead, length);
    return buffer;
  }

  close(): Promise<void> {
    return this.bus.close();
  }
}

let defaultModule: Promise<I2cBusModule> | undefined;

/**
 * Opens /dev/i2c-`busNumber`. Rejects with ERR_DRIVER_INVALID_ARGUMENT (bad number), ERR_DRIVER_UNAVAILABLE
 * (no native addon) or ERR_DRIVER_OPEN_FAILED (no such device node — I²C not enabled, e.g. `dtparam=i2c_arm=on`
 * missing on a Pi — or no permission: the user is not in group `i2c`).
 */
export async function openI2cBus(busNumber: number, options: RealI2cBusOptions = {}): Promise<II2cBus> {
  checkBusNumber(busNumber);
  const { loadBinding, checkDevice = (path) => access(path, constants.R_OK | constants.W_OK), ...retry } = options;
  let binding: I2cBusModule;
  try {
    binding = await (loadBinding ? loadBinding() : (defaultModule ??= importI2cBus()));
  } catch (error) {
    throw new DriverError(
      DriverErrorCode.UNAVAILABLE,
      'the i2c-bus binding cannot load here (its native addon is missing or not built for this system)',
      { cause: error },
    );
  }
  const path = `/dev/i2c-${busNumber}`;
  let bus: I2cBusPromisified;
  try {
    await checkDevice(path);
    bus = await binding.openPromisified(busNumber);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new DriverError(DriverErrorCode.OPEN_FAILED, `cannot open ${path}: ${reason}`, { cause: error });
  }
  return new SerialisedI2cBus(busNumber, new I2cBusTransport(bus), retry);
}
