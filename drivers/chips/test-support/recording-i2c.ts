/**
 * Test spies around the real sim I²C binding: a peripheral wrapper that records every wire transfer (to check
 * register write order) and a bus wrapper that counts transactions (to check "one measurement, one transaction").
 */
import type { I2cIo, II2cBus } from '../../i2c/i2c-bus.ts';
import type { SimI2cPeripheral } from '../../sim-world.ts';

export interface TransferLogEntry {
  bus: number;
  address: number;
  op: 'write' | 'read';
  bytes: number[];
}

export function recordingPeripheral(peripheral: SimI2cPeripheral, bus: number, address: number, log: TransferLogEntry[]): SimI2cPeripheral {
  return {
    write(data) {
      peripheral.write(data);
      log.push({ bus, address, op: 'write', bytes: [...data] });
    },
    read(length) {
      const out = peripheral.read(length);
      log.push({ bus, address, op: 'read', bytes: [...out] });
      return out;
    },
  };
}

export class CountingI2cBus implements II2cBus {
  transactions = 0;
  readonly #inner: II2cBus;

  constructor(inner: II2cBus) {
    this.#inner = inner;
  }

  get busNumber(): number {
    return this.#inner.busNumber;
  }

  readByte = (a: number, r: number): Promise<number> => this.#inner.readByte(a, r);
  writeByte = (a: number, r: number, v: number): Promise<void> => this.#inner.writeByte(a, r, v);
  readBlock = (a: number, r: number, l: number): Promise<Buffer> => this.#inner.readBlock(a, r, l);
  writeBlock = (a: number, r: number, d: Buffer): Promise<void> => this.#inner.writeBlock(a, r, d);
  write = (a: number, d: Buffer): Promise<void> => this.#inner.write(a, d);
  read = (a: number, l: number): Promise<Buffer> => this.#inner.read(a, l);

  transaction<T>(fn: (io: I2cIo) => Promise<T>): Promise<T> {
    this.transactions++;
    return this.#inner.transaction(fn);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}
