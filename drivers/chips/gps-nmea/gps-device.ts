/**
 * A GPS receiver speaking NMEA 0183 over a serial port (u-blox NEO-6M/7M/8M, MTK3339 and the like, 9600 8N1 by
 * default). Reading is passive: the receiver talks once per second, the device keeps the latest values
 * (gps-state.ts) and a read answers from them at once.
 */
import type { Duplex } from 'node:stream';
import type { Clock } from '../../../runtime/clock.ts';
import type { DeviceStatus, ISensorDevice } from '../../device.ts';
import { DriverError, DriverErrorCode, isDriverError } from '../../errors.ts';
import type { ISerialBinding, ISerialPort } from '../../serial/serial-port.ts';
import { DeviceStatusTracker } from '../device-status.ts';
import { asDriverError, closedError } from '../driver-context.ts';
import { GPS_QUANTITIES, GpsState, type GpsQuantity } from './gps-state.ts';
import { NmeaLineSplitter } from './nmea-line-splitter.ts';
import { parseNmeaLine } from './nmea-parser.ts';

export interface GpsDeviceOptions {
  id: string;
  serial: ISerialBinding;
  path: string;
  baudRate: number;
  clock: Clock;
  staleAfterMs: number;
}

export interface GpsStats {
  sentences: number;
  badChecksum: number;
  malformed: number;
  overlong: number;
}

export class GpsNmeaDevice implements ISensorDevice {
  readonly kind = 'sensor' as const;
  readonly driver = 'gps-nmea';
  readonly quantities: readonly string[] = GPS_QUANTITIES;
  readonly id: string;
  readonly #port: ISerialPort;
  readonly #clock: Clock;
  readonly #state: GpsState;
  readonly #splitter = new NmeaLineSplitter();
  readonly #status: DeviceStatusTracker;
  readonly #counts = { sentences: 0, badChecksum: 0, malformed: 0 };
  #closing: Promise<void> | undefined;

  static async open(options: GpsDeviceOptions): Promise<GpsNmeaDevice> {
    let port: ISerialPort;
    try {
      port = await options.serial.open(options.path, { baudRate: options.baudRate });
    } catch (err) {
      throw asDriverError(err, `GPS ${options.id}: open ${options.path}`);
    }
    return new GpsNmeaDevice(options, port);
  }

  private constructor(options: GpsDeviceOptions, port: ISerialPort) {
    this.id = options.id;
    this.#port = port;
    this.#clock = options.clock;
    this.#state = new GpsState(options.staleAfterMs);
    this.#status = new DeviceStatusTracker(options.clock);
    this.#listen(port.stream);
  }

  get stats(): GpsStats {
    return { ...this.#counts, overlong: this.#splitter.overlong };
  }

  /** UTC time from the receiver's last valid RMC (epoch ms), if any. */
  get gpsTime(): number | undefined {
    return this.#state.timestamp;
  }

  async read(quantity: string): Promise<number> {
    if (this.#closing !== undefined) throw closedError(this.id);
    if (!(GPS_QUANTITIES as readonly string[]).includes(quantity)) {
      throw new DriverError(DriverErrorCode.INVALID_ARGUMENT, `GPS ${this.id} has no quantity "${quantity}" (has ${GPS_QUANTITIES.join(', ')})`);
    }
    const value = this.#state.value(quantity as GpsQuantity, this.#clock.now());
    if (isDriverError(value)) throw value;
    return value;
  }

  status(): DeviceStatus {
    return this.#status.snapshot();
  }

  /** Stops listening and closes the port. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#port.stream.removeAllListeners('data');
      await this.#port.close();
    })();
    return this.#closing;
  }

  #listen(stream: Duplex): void {
    stream.on('data', (chunk: Buffer | string) => {
      for (const line of this.#splitter.push(chunk)) this.#line(line);
    });
    stream.on('error', (err: unknown) => this.#status.fail(asDriverError(err, `GPS ${this.id}`)));
    stream.on('close', () => {
      if (this.#closing === undefined) this.#status.fail(new DriverError(DriverErrorCode.IO, `GPS ${this.id}: the serial port closed`));
    });
  }

  #line(line: string): void {
    const result = parseNmeaLine(line);
    if (!result.ok) {
      if (result.reason === 'checksum') this.#counts.badChecksum++;
      else this.#counts.malformed++;
      return;
    }
    this.#counts.sentences++;
    const now = this.#clock.now();
    this.#state.apply(result.sentence, now);
    if (result.sentence.type === 'GGA' || result.sentence.type === 'RMC') this.#status.ok(this.#state.snapshot(now));
  }
}
