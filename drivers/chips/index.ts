/**
 * The device driver table the HAL builds devices from (docs/ARCHITECTURE.md "HAL and devices"): `devices[].driver` names an entry here.
 * `deviceDrivers` runs on the system clock; the daemon on the sim board (and tests) build the table with
 * `createDeviceDrivers({ clock: world.clock })` so that driver waits and simulated chips share one clock.
 */
import type { DeviceDriverDefinition } from '../device.ts';
import { createBme280Driver } from './bme280/bme280-driver.ts';
import { createCameraDriver } from './camera/camera-driver.ts';
import type { ChipDriverOptions } from './driver-context.ts';
import { createGpsNmeaDriver } from './gps-nmea/gps-driver.ts';
import { createPirDriver } from './pir/pir-driver.ts';
import { createRelayDriver } from './relay/relay-driver.ts';
import { createSerialDriver } from './serial/serial-driver.ts';
import { createSht31Driver } from './sht31/sht31-driver.ts';

export type { ChipDriverOptions } from './driver-context.ts';
export { findSimPeripheral } from './sim-registry.ts';
export type { Environment } from './sim-environment.ts';
export { SimBme280 } from './bme280/sim-bme280.ts';
export { SimSht31 } from './sht31/sim-sht31.ts';
export { SimPir } from './pir/sim-pir.ts';
export { SimGps } from './gps-nmea/sim-gps.ts';
export { bme280Driver } from './bme280/bme280-driver.ts';
export { sht31Driver } from './sht31/sht31-driver.ts';
export { relayDriver } from './relay/relay-driver.ts';
export { pirDriver } from './pir/pir-driver.ts';
export { gpsNmeaDriver } from './gps-nmea/gps-driver.ts';
export { cameraDriver } from './camera/camera-driver.ts';
export { serialDriver } from './serial/serial-driver.ts';

/** Every device driver, by the name a config's `devices[].driver` uses. */
export function createDeviceDrivers(options: ChipDriverOptions = {}): ReadonlyMap<string, DeviceDriverDefinition> {
  const drivers: DeviceDriverDefinition[] = [
    createBme280Driver(options),
    createSht31Driver(options),
    createRelayDriver(options),
    createPirDriver(options),
    createGpsNmeaDriver(options),
    createCameraDriver(options),
    createSerialDriver(options),
  ];
  return new Map(drivers.map((driver) => [driver.name, driver]));
}

export const deviceDrivers: ReadonlyMap<string, DeviceDriverDefinition> = createDeviceDrivers();
