/**
 * The simulated board's peripherals (interface only). On the `sim` board every bus is a sim binding, and each
 * configured device's driver attaches a simulated peripheral to it (DeviceDriverDefinition.simulate): a BME280
 * register model at 0x76, a PIR that raises its line now and then, a GPS that writes NMEA sentences. The chip and
 * device drivers above are the same code that runs on a board.
 *
 * Test controls (set a register, raise an edge, inject a sentence) live on these sim types, never on the bus
 * contracts (docs/ARCHITECTURE.md "Injection: clock, processes, file system").
 */
import type { Duplex } from 'node:stream';
import type { Clock } from '../runtime/clock.ts';

/** A simulated I²C peripheral as the wire sees it: every transfer is a write and/or a read at its address. */
export interface SimI2cPeripheral {
  /** A write transfer (for register chips the first byte is the register pointer). */
  write(data: Buffer): void;
  /** A read transfer of `length` bytes (register chips: from the current pointer, auto-incrementing). */
  read(length: number): Buffer;
}

export interface ISimI2c {
  /** Puts a peripheral at `address` on bus `bus`. A second one at the same address throws. */
  attach(bus: number, address: number, peripheral: SimI2cPeripheral): void;
  /** Test control: the next `count` transfers at `address` fail with errno `code` (EIO, EREMOTEIO...). */
  failNext(bus: number, address: number, count: number, code?: string): void;
}

export interface ISimGpio {
  /** Drives an input line from the outside (a sensor's output pin); edges reach watchers like real ones. */
  drive(line: number, value: 0 | 1): void;
  /** The level an output line is driven to (what a relay coil would see), or undefined if not an output. */
  level(line: number): 0 | 1 | undefined;
}

export interface ISimSerial {
  /** Makes `path` openable; `device` receives the far end of the port to play the peripheral. */
  attach(path: string, device: (port: Duplex) => void): void;
}

export interface ISimWorld {
  readonly clock: Clock;
  readonly i2c: ISimI2c;
  readonly gpio: ISimGpio;
  readonly serial: ISimSerial;
  /** Timers a peripheral starts (value drift, motion events, NMEA output) are registered here so close() stops them. */
  every(ms: number, fn: () => void): void;
  /**
   * One timer, `ms` from now, on the same terms (stopped by close()); returns its cancel function. For peripherals
   * whose next change can be computed (a PIR's next pulse), so an idle sim board wakes only when something happens.
   */
  after(ms: number, fn: () => void): () => void;
  close(): Promise<void>;
}
