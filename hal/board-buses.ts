/**
 * The BusProvider for the board the daemon runs on (drivers/device.ts): real bindings (onoff, i2c-bus, serialport,
 * node-webcam + a stream command) on a known board, sim bindings on `sim`. Pins, I²C buses and serial ports are
 * resolved through the board profile, so a config names them as the board's documentation does (header pin 11,
 * GPIO17, i2c-1, serial0) and an unknown one fails the boot with the board's list.
 */
import type { Clock } from '../runtime/clock.ts';
import { findI2cBus, findSerialPort } from '../board-profiles/bus-lookup.ts';
import { GpioLineResolver } from '../board-profiles/gpio-lines.ts';
import type { BoardProfile } from '../board-profiles/profile-schema.ts';
import type { ICameraSource } from '../drivers/camera/camera-source.ts';
import { RealCamera } from '../drivers/camera/real-camera.ts';
import { loadSimFrames, SimCamera } from '../drivers/camera/sim-camera.ts';
import type { BusProvider, CameraOptions } from '../drivers/device.ts';
import type { IGpioBus } from '../drivers/gpio/gpio-bus.ts';
import { createOnoffGpioBus } from '../drivers/gpio/onoff-gpio-bus.ts';
import { openI2cBus } from '../drivers/i2c/i2c-bus-real.ts';
import type { II2cBus } from '../drivers/i2c/i2c-bus.ts';
import type { ISerialBinding } from '../drivers/serial/serial-port.ts';
import { SerialportBinding } from '../drivers/serial/serialport-binding.ts';
import type { SimSerialBinding } from '../drivers/serial/sim-serial.ts';
import { SimWorld } from './sim-world.ts';
import { DriverError, DriverErrorCode } from '../drivers/errors.ts';

export interface BoardBuses {
  buses: BusProvider;
  /** Present on the sim board. */
  sim?: SimWorld;
  /** Closes the buses (after the devices on them). Idempotent. */
  close(): Promise<void>;
}

export interface BoardBusOptions {
  clock: Clock;
  /** Root under which /sys/class/gpio is read ('/' on a board, a fixture in tests). */
  sysRoot?: string;
}

export async function openBoardBuses(profile: BoardProfile, options: BoardBusOptions): Promise<BoardBuses> {
  const resolver = await openPinResolver(profile, options.sysRoot ?? '/');
  if (profile.name === 'sim') return openSim(profile, resolver, options.clock);
  return openReal(profile, resolver, options.clock);
}

export interface PinResolver {
  resolve(pin: number | string): { sysfs: number };
}

/**
 * GPIO numbers need /sys/class/gpio and the profile's gpiochips. A board without them (GPIO sysfs not built into
 * the kernel, a chip label that differs) must still boot its I²C, serial and camera devices: then only devices on
 * GPIO fail (as `failed`, with the reason), while a pin the profile does not have stays a configuration error.
 */
async function openPinResolver(profile: BoardProfile, sysRoot: string): Promise<PinResolver> {
  try {
    return await GpioLineResolver.open(profile, sysRoot);
  } catch (err) {
    const byProfile = GpioLineResolver.withBases(profile, Object.fromEntries(profile.gpio.chips.map((c) => [c.label, 0])));
    return {
      resolve: (pin) => {
        byProfile.resolve(pin); // unknown pin: a BoardError, reported as a configuration problem
        throw new DriverError(DriverErrorCode.UNAVAILABLE, `GPIO numbers cannot be computed on this board: ${(err as Error).message}`);
      },
    };
  }
}

async function openSim(profile: BoardProfile, resolver: PinResolver, clock: Clock): Promise<BoardBuses> {
  const world = new SimWorld(clock);
  let real: ISerialBinding | undefined;
  const frames = await loadSimFrames();
  const i2c = new Map<number, Promise<II2cBus>>();
  const buses: BusProvider = {
    board: profile.name,
    gpio: () => world.gpio,
    resolvePin: (pin) => resolver.resolve(pin).sysfs,
    i2c: (bus) => cached(i2c, findI2cBus(profile, bus).bus, (n) => world.i2c.open(n, { clock })),
    // On a laptop the sim board still reaches real ports and cameras named by path (a USB serial adapter, a
    // webcam, fswebcam's TEST source): only what the sim world simulates is simulated.
    serial: () => (real ??= routeSerial(world.serial, new SerialportBinding({ clock }))),
    resolveSerialPort: (port) => (port.startsWith('/') ? port : findSerialPort(profile, port).device),
    camera: (o: CameraOptions): ICameraSource =>
      o.device === 'sim'
        ? new SimCamera({ id: o.id, fps: o.fps, clock, frames })
        : new RealCamera({ id: o.id, device: o.device, width: o.width, height: o.height, fps: o.fps, clock, ...(o.streamCommand ? { streamCommand: o.streamCommand } : {}) }),
  };
  return { buses, sim: world, close: async () => {
    await closeAll(i2c);
    await world.close();
  } };
}

function openReal(profile: BoardProfile, resolver: PinResolver, clock: Clock): BoardBuses {
  let gpio: IGpioBus | undefined;
  let serial: ISerialBinding | undefined;
  const i2c = new Map<number, Promise<II2cBus>>();
  const buses: BusProvider = {
    board: profile.name,
    gpio: () => (gpio ??= createOnoffGpioBus({ clock })),
    resolvePin: (pin) => resolver.resolve(pin).sysfs,
    i2c: (bus) => cached(i2c, findI2cBus(profile, bus).bus, (n) => openI2cBus(n, { clock })),
    serial: () => (serial ??= new SerialportBinding({ clock })),
    // A path given in the config is taken as is (a USB adapter, /dev/ttyUSB0); a name goes through the profile.
    resolveSerialPort: (port) => (port.startsWith('/dev/') ? port : findSerialPort(profile, port).device),
    camera: (o: CameraOptions): ICameraSource => {
      const command = o.streamCommand ?? fillPlaceholders(profile.camera?.streamCommand, o);
      return new RealCamera({ id: o.id, device: o.device, width: o.width, height: o.height, fps: o.fps, clock, ...(command ? { streamCommand: command } : {}) });
    },
  };
  return { buses, close: async () => {
    await closeAll(i2c);
    await gpio?.close();
  } };
}

/** Simulated paths go to the sim binding, every other path to the real one. */
function routeSerial(sim: SimSerialBinding, realBinding: ISerialBinding): ISerialBinding {
  return { open: (path, options) => (sim.has(path) ? sim.open(path, options) : realBinding.open(path, options)) };
}

/** A board's stream command with {device}/{width}/{height}/{fps} filled in (board-profiles STREAM_PLACEHOLDERS). */
export function fillPlaceholders(command: readonly string[] | undefined, o: CameraOptions): string[] | undefined {
  if (!command) return undefined;
  const values: Record<string, string> = { device: o.device, width: String(o.width), height: String(o.height), fps: String(o.fps) };
  return command.map((arg) => arg.replace(/\{(device|width|height|fps)\}/g, (_, k: string) => values[k] ?? ''));
}

function cached(map: Map<number, Promise<II2cBus>>, n: number, open: (n: number) => Promise<II2cBus>): Promise<II2cBus> {
  let bus = map.get(n);
  if (!bus) {
    bus = open(n);
    map.set(n, bus);
    // A failed open is not cached: the next device on that bus tries again (and gets its own error).
    bus.catch(() => map.delete(n));
  }
  return bus;
}

async function closeAll(map: Map<number, Promise<II2cBus>>): Promise<void> {
  for (const bus of map.values()) await bus.then((b) => b.close(), () => undefined);
  map.clear();
}
