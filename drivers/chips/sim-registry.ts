/**
 * Where simulate() leaves the simulated peripheral it attached, so that test controls (setEnvironment,
 * triggerMotion, corruptNextCrc...) are reachable by the device id: DeviceDriverDefinition.simulate() returns
 * nothing, and test controls live on the sim types, never on the contracts (docs/ARCHITECTURE.md "Injection: clock, processes, file system").
 */
import type { ISimWorld } from '../sim-world.ts';

const peripherals = new WeakMap<ISimWorld, Map<string, unknown>>();

export function registerSimPeripheral(world: ISimWorld, deviceId: string, peripheral: unknown): void {
  let byId = peripherals.get(world);
  if (byId === undefined) {
    byId = new Map();
    peripherals.set(world, byId);
  }
  byId.set(deviceId, peripheral);
}

/** The simulated peripheral of `deviceId` if it is a `type` (e.g. SimBme280), else undefined. */
export function findSimPeripheral<T>(world: ISimWorld, deviceId: string, type: abstract new (...args: never[]) => T): T | undefined {
  const found = peripherals.get(world)?.get(deviceId);
  return found instanceof type ? found : undefined;
}
