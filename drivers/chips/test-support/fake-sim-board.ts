/**
 * A sim world + BusProvider for chip-driver tests: the real sim I²C, GPIO and serial bindings on a VirtualClock,
 * with spies (every I²C transfer in `i2cLog`, transactions counted per bus). Everything a test starts is stopped
 * by close().
 */
import type { BusProvider, CameraOptions } from '../../device.ts';
import type { CameraFrame, ICameraSource } from '../../camera/camera-source.ts';
import { SimGpioBus } from '../../gpio/sim-gpio-bus.ts';
import { SimSerialBinding } from '../../serial/sim-serial.ts';
import { SimI2cWorld } from '../../i2c/sim-i2c-bus.ts';
import type { ISimI2c, ISimWorld, SimI2cPeripheral } from '../../sim-world.ts';
import { CountingI2cBus, recordingPeripheral, type TransferLogEntry } from './recording-i2c.ts';
import { VirtualClock } from './virtual-clock.ts';

export class FakeCameraSource implements ICameraSource {
  readonly id: string;
  closed = 0;
  listeners = new Set<(frame: CameraFrame) => void>();
  constructor(readonly options: CameraOptions) {
    this.id = options.id;
  }
  async snapshot(): Promise<Buffer> {
    return Buffer.from([0xff, 0xd8, 0xff, 0xd9]);
  }
  subscribe(listener: (frame: CameraFrame) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  emit(frame: CameraFrame): void {
    for (const l of this.listeners) l(frame);
  }
  async close(): Promise<void> {
    this.closed++;
  }
}

export class FakeSimBoard implements ISimWorld {
  readonly clock: VirtualClock;
  readonly gpio: SimGpioBus;
  readonly serial: SimSerialBinding;
  readonly i2cWorld = new SimI2cWorld();
  readonly i2cLog: TransferLogEntry[] = [];
  readonly #i2cBuses = new Map<number, Promise<CountingI2cBus>>();
  /** Peripherals attached through the world, by `bus:address` (inspection). */
  readonly attached = new Map<string, SimI2cPeripheral>();
  readonly cameras: FakeCameraSource[] = [];
  readonly #timers = new Set<unknown>();
  #closed = false;

  readonly i2c: ISimI2c = {
    attach: (bus: number, address: number, peripheral: SimI2cPeripheral) => {
      this.i2cWorld.attach(bus, address, recordingPeripheral(peripheral, bus, address, this.i2cLog));
      this.attached.set(`${bus}:${address}`, peripheral);
    },
    failNext: (bus: number, address: number, count: number, code?: string) => this.i2cWorld.failNext(bus, address, count, code),
  };

  readonly buses: BusProvider = {
    board: 'sim',
    gpio: () => this.gpio,
    resolvePin: (pin) => (typeof pin === 'number' ? pin : Number(/(\d+)$/.exec(pin)?.[1] ?? NaN)),
    i2c: (bus) => this.i2cBus(typeof bus === 'number' ? bus : Number(/(\d+)$/.exec(bus)?.[1] ?? NaN)),
    serial: () => this.serial,
    resolveSerialPort: (port) => (port.startsWith('/dev/') ? port : `/dev/sim-${port}`),
    camera: (options) => {
      const source = new FakeCameraSource(options);
      this.cameras.push(source);
      return source;
    },
  };

  constructor(clock = new VirtualClock()) {
    this.clock = clock;
    this.gpio = new SimGpioBus({ clock });
    this.serial = new SimSerialBinding({ clock });
  }

  /** The (shared) bus a device on sim bus `bus` gets; retries pause on the virtual clock. */
  i2cBus(bus: number): Promise<CountingI2cBus> {
    let b = this.#i2cBuses.get(bus);
    if (b === undefined) {
      b = this.i2cWorld.open(bus, { clock: this.clock, retryDelayMs: 2 }).then((inner) => new CountingI2cBus(inner));
      this.#i2cBuses.set(bus, b);
    }
    return b;
  }

  every(ms: number, fn: () => void): void {
    const arm = (): void => {
      const handle = this.clock.setTimeout(() => {
        this.#timers.delete(handle);
        if (this.#closed) return;
        fn();
        arm();
      }, ms);
      this.#timers.add(handle);
    };
    arm();
  }

  after(ms: number, fn: () => void): () => void {
    const handle = this.clock.setTimeout(() => {
      this.#timers.delete(handle);
      if (!this.#closed) fn();
    }, ms);
    this.#timers.add(handle);
    return () => {
      this.clock.clearTimeout(handle);
      this.#timers.delete(handle);
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const handle of this.#timers) this.clock.clearTimeout(handle);
    this.#timers.clear();
    await this.gpio.close();
    for (const bus of this.#i2cBuses.values()) await (await bus).close();
  }
}
