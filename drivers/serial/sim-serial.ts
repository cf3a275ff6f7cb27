/**
 * Sim serial binding: ports are in-memory Duplex pairs whose far end a simulated device plays (a GPS writing
 * NMEA, an AT modem answering). It refuses what the real binding refuses, the way the kernel and serialport do:
 * an unattached path is like ENOENT, a second open of a port that is open is like the exclusive lock serialport
 * takes by default (EBUSY / "Cannot lock port"), and options are checked by the same validateSerialOptions.
 *
 * Not simulated: baud-rate pacing. A pty (the real binding's test double) ignores the rate too, and pacing
 * would make every sim test as slow as the wire; devices that must emit at a rate use ISimWorld.every.
 */
import type { Duplex } from 'node:stream';
import type { Clock } from '../../runtime/clock.ts';
import { DriverError, DriverErrorCode } from '../errors.ts';
import type { ISimSerial } from '../sim-world.ts';
import { createDuplexPair } from './duplex-pair.ts';
import { validateSerialOptions } from './serial-options.ts';
import type { ISerialBinding, ISerialPort, SerialOptions } from './serial-port.ts';
import { SerialStream } from './serial-stream.ts';

export type SimSerialDevice = (port: Duplex) => void;

export interface SimSerialOptions {
  clock?: Clock;
  /** See SerialStreamOptions.flushTimeoutMs. */
  flushTimeoutMs?: number;
}

export class SimSerialBinding implements ISerialBinding, ISimSerial {
  readonly #devices = new Map<string, SimSerialDevice>();
  /** Paths with an open port: the simulated exclusive lock. */
  readonly #open = new Set<string>();
  readonly #options: SimSerialOptions;

  constructor(options: SimSerialOptions = {}) {
    this.#options = options;
  }

  /** Makes `path` openable. `device` is called once per open() with that open's far end. */
  attach(path: string, device: SimSerialDevice): void {
    if (this.#devices.has(path)) {
      throw new DriverError(DriverErrorCode.INVALID_ARGUMENT, `sim serial: a device is already attached at ${path}`);
    }
    this.#devices.set(path, device);
  }

  /** Whether a simulated device is attached at `path` (the sim board routes other paths to real ports). */
  has(path: string): boolean {
    return this.#devices.has(path);
  }

  /** Test control: whether a port at `path` is open right now. */
  isOpen(path: string): boolean {
    return this.#open.has(path);
  }

  async open(path: string, options: SerialOptions): Promise<ISerialPort> {
    validateSerialOptions(path, options);
    const device = this.#devices.get(path);
    if (!device) {
      throw new DriverError(DriverErrorCode.OPEN_FAILED, `serial ${path}: no such device (nothing attached at this sim path)`);
    }
    if (this.#open.has(path)) {
      throw new DriverError(DriverErrorCode.OPEN_FAILED, `serial ${path}: port is busy (already open)`);
    }
    this.#open.add(path);

    const pair = createDuplexPair();
    let released = false;
    const stream = new SerialStream(
      path,
      {
        raw: pair.near,
        drain: async () => undefined,
        close: async () => {
          pair.cut();
          if (!released) {
            released = true;
            this.#open.delete(path);
          }
        },
      },
      this.#options,
    );
    try {
      device(pair.far);
    } catch (err) {
      await stream.close();
      throw new DriverError(DriverErrorCode.OPEN_FAILED, `serial ${path}: the simulated device failed to start`, { cause: err });
    }
    return { path, stream, close: () => stream.close() };
  }
}
