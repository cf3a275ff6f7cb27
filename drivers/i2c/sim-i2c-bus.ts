/**
 * Sim I²C binding: a world of simulated buses with peripherals at addresses (ISimI2c), and II2cBus instances
 * that route each operation to the peripheral exactly as the wire carries it (SMBus protocol summary,
 * Documentation/i2c/smbus-protocol.rst):
 *
 *   readByte(a, r)        -> write([r]), read(1)        (write byte data's register, repeated start, 1 byte)
 *   readBlock(a, r, n)    -> write([r]), read(n)
 *   writeByte(a, r, v)    -> write([r, v])
 *   writeBlock(a, r, d)   -> write([r, ...d])
 *   write(a, d) / read(a, n) -> write(d) / read(n)
 *
 * Everything else (validation, FIFO, retries, errors, close) is SerialisedI2cBus, shared with the real binding.
 *
 * Fidelity choices:
 * - One operation is one bus transaction (one ioctl on Linux); failNext() counts operations, so "failNext 2"
 *   makes the first two attempts fail and the third (the last default retry) succeed.
 * - A failing transaction fails at the address phase and never reaches the peripheral (state untouched).
 * - No peripheral at an address: errno ENXIO, the fault code for an un-ACKed address (fault-codes.rst).
 * - A peripheral's read() returning fewer bytes than asked: the rest reads 0xFF, as the pulled-up SDA line would.
 * - Transfers complete on a later turn of the event loop, like i2c-bus's ioctls on libuv's thread pool.
 */
import { DriverError, DriverErrorCode } from '../errors.ts';
import type { ISimI2c, SimI2cPeripheral } from '../sim-world.ts';
import { checkAddress, checkBusNumber } from './i2c-arguments.ts';
import type { II2cBus } from './i2c-bus.ts';
import { SerialisedI2cBus, type I2cRetryOptions, type RawI2cTransport } from './serialised-bus.ts';

interface Slot {
  peripheral: SimI2cPeripheral | undefined;
  /** Pending injected failures, in order: each entry fails `remaining` more transactions with `code`. */
  failures: { code: string; remaining: number }[];
}

type Message = { write: Buffer } | { read: number };

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const hex = (n: number): string => `0x${n.toString(16).padStart(2, '0')}`;

function errnoError(code: string, message: string): Error {
  return Object.assign(new Error(`${code}: ${message}`), { code, syscall: 'ioctl' });
}

export class SimI2cWorld implements ISimI2c {
  private readonly buses = new Map<number, Map<number, Slot>>();

  attach(bus: number, address: number, peripheral: SimI2cPeripheral): void {
    checkBusNumber(bus);
    checkAddress(address);
    if (typeof peripheral?.write !== 'function' || typeof peripheral.read !== 'function') {
      throw new DriverError(DriverErrorCode.INVALID_ARGUMENT, 'a sim I2C peripheral needs write() and read()');
    }
    const slot = this.slot(bus, address);
    if (slot.peripheral) {
      throw new DriverError(
        DriverErrorCode.INVALID_ARGUMENT,
        `sim i2c-${bus} already has a peripheral at ${hex(address)}`,
      );
    }
    slot.peripheral = peripheral;
  }

  /** Removes the peripheral at an address (a chip unplugged); later transfers there fail with ENXIO. */
  detach(bus: number, address: number): boolean {
    const slot = this.buses.get(bus)?.get(address);
    if (!slot?.peripheral) return false;
    slot.peripheral = undefined;
    return true;
  }

  failNext(bus: number, address: number, count: number, code = 'EIO'): void {
    checkBusNumber(bus);
    checkAddress(address);
    if (!Number.isSafeInteger(count) || count < 0) {
      throw new DriverError(DriverErrorCode.INVALID_ARGUMENT, `failNext count must be an integer >= 0, got ${count}`);
    }
    if (!/^E[A-Z0-9]+$/.test(code)) {
      throw new DriverError(DriverErrorCode.INVALID_ARGUMENT, `failNext code must be an errno name such as EIO, got ${code}`);
    }
    if (count > 0) this.slot(bus, address).failures.push({ code, remaining: count });
  }

  /** An II2cBus on sim bus `busNumber`. Several may be open on one bus, like several processes on /dev/i2c-N. */
  async open(busNumber: number, options: I2cRetryOptions = {}): Promise<II2cBus> {
    checkBusNumber(busNumber);
    return new SerialisedI2cBus(busNumber, new SimTransport(this, busNumber), options);
  }

  /** Carries one bus transaction of `messages` to `address`; the read messages' data is returned in order. */
  async transfer(bus: number, address: number, messages: readonly Message[]): Promise<Buffer[]> {
    await nextTurn();
    const slot = this.buses.get(bus)?.get(address);
    const failure = slot?.failures[0];
    if (slot && failure) {
      failure.remaining -= 1;
      if (failure.remaining === 0) slot.failures.shift();
      throw errnoError(failure.code, `simulated failure at ${hex(address)} on sim i2c-${bus}`);
    }
    const peripheral = slot?.peripheral;
    if (!peripheral) throw errnoError('ENXIO', `no device at ${hex(address)} on sim i2c-${bus}`);
    const results: Buffer[] = [];
    for (const message of messages) {
      if ('write' in message) {
        peripheral.write(Buffer.from(message.write)); // a copy: the peripheral may keep it
        continue;
      }
      const data = Buffer.alloc(message.read, 0xff);
      const answered = peripheral.read(message.read);
      Buffer.from(answered).copy(data, 0, 0, Math.min(answered.length, message.read));
      results.push(data);
    }
    return results;
  }

  private slot(bus: number, address: number): Slot {
    let addresses = this.buses.get(bus);
    if (!addresses) {
      addresses = new Map();
      this.buses.set(bus, addresses);
    }
    let slot = addresses.get(address);
    if (!slot) {
      slot = { peripheral: undefined, failures: [] };
      addresses.set(address, slot);
    }
    return slot;
  }
}

class SimTransport implements RawI2cTransport {
  constructor(
    private readonly world: SimI2cWorld,
    private readonly bus: number,
  ) {}

  async readByte(address: number, register: number): Promise<number> {
    const [data] = await this.world.transfer(this.bus, address, [{ write: Buffer.of(register) }, { read: 1 }]);
    return data?.[0] ?? 0xff;
  }

  async writeByte(address: number, register: number, value: number): Promise<void> {
    await this.world.transfer(this.bus, address, [{ write: Buffer.of(register, value) }]);
  }

  async readBlock(address: number, register: number, length: number): Promise<Buffer> {
    const [data] = await this.world.transfer(this.bus, address, [{ write: Buffer.of(register) }, { read: length }]);
    return data ?? Buffer.alloc(length, 0xff);
  }

  async writeBlock(address: number, register: number, data: Buffer): Promise<void> {
    await this.world.transfer(this.bus, address, [{ write: Buffer.concat([Buffer.of(register), data]) }]);
  }

  async write(address: number, data: Buffer): Promise<void> {
    await this.world.transfer(this.bus, address, [{ write: data }]);
  }

  async read(address: number, length: number): Promise<Buffer> {
    const [data] = await this.world.transfer(this.bus, address, [{ read: length }]);
    return data ?? Buffer.alloc(length, 0xff);
  }

  async close(): Promise<void> {
    // Nothing to release: the world outlives the buses opened on it.
  }
}

export function createSimI2cWorld(): SimI2cWorld {
  return new SimI2cWorld();
}
