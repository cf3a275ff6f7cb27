/**
 * The `serial` entry of the driver table: hands out the byte stream of a serial port (a Modbus adapter, an
 * Arduino, an AT modem) to the agent the HAL grants it to. One opener at a time: the HAL enforces ownership, and
 * the device refuses a second open while the first stream is alive. When the holder ends or destroys its stream
 * the port is closed, so the next owner can open it again.
 */
import type { Duplex } from 'node:stream';
import * as z from 'zod/mini';
import '../../../runtime/zod-messages.ts';
import { baudRateField } from '../../serial/serial-options.ts';
import type { Clock } from '../../../runtime/clock.ts';
import { DriverError, DriverErrorCode } from '../../errors.ts';
import type { BusProvider, DeviceDriverDefinition, DeviceStatus, IDevice, ISerialDevice } from '../../device.ts';
import type { ISerialBinding, ISerialPort, SerialOptions } from '../../serial/serial-port.ts';
import type { ISimWorld } from '../../sim-world.ts';
import { DeviceStatusTracker } from '../device-status.ts';
import { asDriverError, chipDriverContext, closedError, type ChipDriverOptions } from '../driver-context.ts';

export const serialConfigSchema = z.strictObject({
  /** A serial port name from the board profile or a device path. */
  port: z.string().check(z.minLength(1)),
  baudRate: baudRateField,
  dataBits: z.optional(z.union([z.literal(5), z.literal(6), z.literal(7), z.literal(8)])),
  stopBits: z.optional(z.union([z.literal(1), z.literal(2)])),
  parity: z.optional(z.enum(['none', 'even', 'odd'])),
});

export type SerialConfig = z.output<typeof serialConfigSchema>;

export class SerialDevice implements ISerialDevice {
  readonly kind = 'serial' as const;
  readonly driver = 'serial';
  readonly id: string;
  readonly #binding: ISerialBinding;
  readonly #path: string;
  readonly #options: SerialOptions;
  readonly #status: DeviceStatusTracker;
  #port: ISerialPort | undefined;
  #opening = false;
  #closing: Promise<void> | undefined;

  constructor(id: string, binding: ISerialBinding, path: string, options: SerialOptions, clock: Clock) {
    this.id = id;
    this.#binding = binding;
    this.#path = path;
    this.#options = options;
    this.#status = new DeviceStatusTracker(clock, 'closed');
  }

  async open(): Promise<Duplex> {
    if (this.#closing !== undefined) throw closedError(this.id);
    if (this.#port !== undefined || this.#opening) {
      throw new DriverError(DriverErrorCode.OPEN_FAILED, `serial ${this.id} (${this.#path}) is already open`);
    }
    this.#opening = true;
    try {
      const port = await this.#binding.open(this.#path, this.#options);
      if (this.#closing !== undefined) {
        await port.close();
        throw closedError(this.id);
      }
      this.#port = port;
      // The holder is done with the stream (ended, destroyed, port vanished): release the port.
      port.stream.once('close', () => void this.#release(port));
      this.#status.ok('open');
      return port.stream;
    } catch (err) {
      const error = asDriverError(err, `serial ${this.id}`);
      this.#status.fail(error);
      throw error;
    } finally {
      this.#opening = false;
    }
  }

  status(): DeviceStatus {
    return this.#status.snapshot();
  }

  /** Closes the open port, if any. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#port === undefined ? Promise.resolve() : this.#release(this.#port);
    return this.#closing;
  }

  async #release(port: ISerialPort): Promise<void> {
    if (this.#port === port) {
      this.#port = undefined;
      this.#status.ok('closed');
    }
    await port.close().catch((err: unknown) => this.#status.fail(err));
  }
}

export function createSerialDriver(options: ChipDriverOptions = {}): DeviceDriverDefinition<SerialConfig> {
  const context = chipDriverContext(options);
  return {
    name: 'serial',
    kind: 'serial',
    configSchema: serialConfigSchema,
    async create(id: string, config: SerialConfig, buses: BusProvider): Promise<IDevice> {
      const { port, ...serialOptions } = config;
      return new SerialDevice(id, buses.serial(), buses.resolveSerialPort(port), serialOptions, context.clock);
    },
    /**
     * On the sim board a bare serial port gets a loopback plug (TX jumpered to RX: what you write comes back),
     * unless another driver's simulated device (a GPS) already plays that port. A port given as a path is a real
     * one (a USB adapter on the laptop, a pty in tests): nothing is simulated, the real binding opens it.
     */
    simulate(_id: string, config: SerialConfig, world: ISimWorld, buses: BusProvider): void {
      if (config.port.startsWith('/')) return;
      try {
        world.serial.attach(buses.resolveSerialPort(config.port), (far) => {
          far.on('error', () => undefined);
          far.pipe(far);
        });
      } catch {
        // Already attached: leave the other device in place.
      }
    },
  };
}

export const serialDriver = createSerialDriver();
