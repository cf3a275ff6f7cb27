/**
 * What every chip/device driver gets injected (docs/ARCHITECTURE.md "Injection: clock, processes, file system"): the clock its waits and debounce timers run on, and
 * the random source its simulated peripheral uses. The BusProvider contract carries no clock, so the driver table
 * is built by a factory (`createDeviceDrivers({ clock })`): on the sim board the daemon passes the sim world's
 * clock so that a driver's conversion waits and the simulated chip's conversion time agree.
 */
import * as z from 'zod/mini';
import '../../runtime/zod-messages.ts';
import { systemClock, type Clock } from '../../runtime/clock.ts';
import { DriverError, DriverErrorCode, isDriverError } from '../errors.ts';

export interface ChipDriverOptions {
  clock?: Clock;
  /** Uniform [0, 1): drives the simulated peripherals' noise and random events. Default Math.random. */
  random?: () => number;
}

export interface ChipDriverContext {
  readonly clock: Clock;
  readonly random: () => number;
}

export function chipDriverContext(options: ChipDriverOptions = {}): ChipDriverContext {
  return { clock: options.clock ?? systemClock, random: options.random ?? Math.random };
}

/** Waits `ms` on the injected clock. */
export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => {
    clock.setTimeout(resolve, ms);
  });
}

/** ISO time of a clock reading, for DeviceStatus.updatedAt. */
export function isoTime(clock: Clock): string {
  return new Date(clock.now()).toISOString();
}

/** Wraps anything thrown by a bus into a DriverError, keeping DriverErrors (and their codes) as they are. */
export function asDriverError(err: unknown, what: string): DriverError {
  if (isDriverError(err)) return err;
  return new DriverError(DriverErrorCode.IO, `${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

export function closedError(id: string): DriverError {
  return new DriverError(DriverErrorCode.CLOSED, `device ${id} is closed`);
}

/**
 * The sim I²C world addresses buses by number (ISimI2c.attach), while a device's config may name its bus as a
 * number, a numeric string, `i2c-1` or `/dev/i2c-1`. BusProvider has no synchronous I²C-name resolver, so
 * simulate() accepts those spellings only.
 */
/** I²C bus field of a chip's config: a number (1 = /dev/i2c-1) or a name the board profile knows (i2cBusNumber). */
export const i2cBusField = z._default(z.union([z.int().check(z.gte(0)), z.string().check(z.minLength(1))]), 1);

/** GPIO pin field: a header pin number or a name from the board profile (`11`, `GPIO17`). */
export const pinField = z.union([z.int().check(z.gte(0)), z.string().check(z.minLength(1))]);

export function i2cBusNumber(bus: number | string): number {
  if (typeof bus === 'number') return bus;
  const match = /^(?:\/dev\/)?(?:i2c-)?(\d+)$/.exec(bus.trim());
  if (match?.[1] === undefined) {
    throw new DriverError(DriverErrorCode.INVALID_ARGUMENT, `cannot simulate I2C bus "${bus}": use a bus number or /dev/i2c-N`);
  }
  return Number(match[1]);
}
