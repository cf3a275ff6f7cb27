/**
 * Real serial binding on the `serialport` package (v13). The package is imported lazily, on the first open():
 * its native addon (@serialport/bindings-cpp) may be missing or built for another ABI, and that must turn into
 * ERR_DRIVER_UNAVAILABLE for the device that needs it, not a daemon that cannot start.
 *
 * serialport opens exclusively by default (`lock: true`: TIOCEXCL + flock on Linux), so a second open of a busy
 * port fails like any other open failure: every open error is ERR_DRIVER_OPEN_FAILED with serialport's error as
 * `cause` (its messages carry strerror: "No such file or directory", "Permission denied", "Cannot lock port").
 */
import type { SerialPort } from 'serialport';
import type { Clock } from '../../runtime/clock.ts';
import { DriverError, DriverErrorCode } from '../errors.ts';
import { validateSerialOptions } from './serial-options.ts';
import type { ISerialBinding, ISerialPort, SerialOptions } from './serial-port.ts';
import { SerialStream } from './serial-stream.ts';
import { cjsExport } from '../cjs-interop.ts';

export type SerialPortClass = typeof SerialPort;

export interface SerialportBindingOptions {
  /** Loads the SerialPort class; injected so tests can simulate a missing native addon. */
  load?: () => Promise<SerialPortClass>;
  clock?: Clock;
  /** See SerialStreamOptions.flushTimeoutMs. */
  flushTimeoutMs?: number;
}

const loadSerialport = async (): Promise<SerialPortClass> => {
  const SerialPortClass = cjsExport<SerialPortClass>(await import('serialport'), 'SerialPort');
  if (SerialPortClass === undefined) throw new Error('the serialport package has no SerialPort export');
  return SerialPortClass;
};

export class SerialportBinding implements ISerialBinding {
  readonly #options: SerialportBindingOptions;
  #loaded: Promise<SerialPortClass> | null = null;

  constructor(options: SerialportBindingOptions = {}) {
    this.#options = options;
  }

  async open(path: string, options: SerialOptions): Promise<ISerialPort> {
    const resolved = validateSerialOptions(path, options);
    const Port = await this.#load();

    let port: SerialPort;
    try {
      port = new Port({ path, ...resolved, autoOpen: false });
    } catch (err) {
      // Options passed validateSerialOptions, so this is serialport disagreeing: still the caller's arguments.
      throw new DriverError(DriverErrorCode.INVALID_ARGUMENT, `serial ${path}: ${(err as Error).message}`, { cause: err });
    }
    await new Promise<void>((resolve, reject) => {
      port.open((err) => {
        if (err) reject(new DriverError(DriverErrorCode.OPEN_FAILED, `serial ${path}: cannot open: ${err.message}`, { cause: err }));
        else resolve();
      });
    });

    const stream = new SerialStream(
      path,
      {
        raw: port,
        drain: () =>
          new Promise((resolve) => {
            if (!port.isOpen) return resolve();
            // tcdrain(): bytes in the kernel's tx buffer are on the wire before the fd closes.
            port.drain(() => resolve());
          }),
        close: () =>
          new Promise((resolve) => {
            if (!port.isOpen) return resolve();
            // An error here means the port is already gone (unplugged); closed is what we wanted.
            port.close(() => resolve());
          }),
      },
      { clock: this.#options.clock, flushTimeoutMs: this.#options.flushTimeoutMs },
    );
    return { path, stream, close: () => stream.close() };
  }

  #load(): Promise<SerialPortClass> {
    // A failed load is not cached: the addon may be rebuilt while the daemon runs (npm rebuild).
    this.#loaded ??= (this.#options.load ?? loadSerialport)().catch((err: unknown) => {
      this.#loaded = null;
      throw new DriverError(DriverErrorCode.UNAVAILABLE, `serialport cannot be loaded here: ${(err as Error)?.message ?? String(err)}`, { cause: err });
    });
    return this.#loaded;
  }
}
