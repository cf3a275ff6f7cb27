/**
 * Opens the HAL for this board (boot phase "hal"): the board's buses, the device registry built from the profile's
 * default devices and the config's `devices[]`, and the HAL service agents talk to. Closing it drives every
 * actuator to its safe state, closes the devices, then the buses.
 */
import type { Clock } from '../runtime/clock.ts';
import type { Logger } from '../runtime/logging/logger.ts';
import type { BoardProfile } from '../board-profiles/profile-schema.ts';
import { createDeviceDrivers } from '../drivers/chips/index.ts';
import type { DeviceDriverDefinition } from '../drivers/device.ts';
import { openBoardBuses } from './board-buses.ts';
import type { DeviceSource } from './device-registry.ts';
import { DeviceRegistry } from './device-registry.ts';
import { HalService } from './hal-service.ts';

export interface BoardHalOptions {
  profile: BoardProfile;
  /** The config's `devices[]` entries (validated here, with the HAL's and each driver's schema). */
  configDevices: readonly unknown[];
  /** For error messages: `<file>: devices.2 (fan): pin: ...`. */
  configFile?: string;
  clock: Clock;
  log: Logger;
  sysRoot?: string;
  /** Override the driver table (tests). */
  drivers?: ReadonlyMap<string, DeviceDriverDefinition>;
}

export interface BoardHal {
  service: HalService;
  registry: DeviceRegistry;
  close(): Promise<void>;
}

export async function openBoardHal(options: BoardHalOptions): Promise<BoardHal> {
  const { profile, clock, log } = options;
  const boardBuses = await openBoardBuses(profile, { clock, ...(options.sysRoot ? { sysRoot: options.sysRoot } : {}) });
  const sources: DeviceSource[] = [
    ...(profile.devices ?? []).map((entry, i) => ({ where: `board ${profile.name}: devices.${i}`, origin: 'board' as const, entry })),
    ...options.configDevices.map((entry, i) => ({ where: `${options.configFile ?? 'config'}: devices.${i}`, origin: 'config' as const, entry })),
  ];
  let registry: DeviceRegistry;
  try {
    registry = await DeviceRegistry.build({
      sources,
      // On the sim board the drivers and the simulated chips share the sim world's clock.
      drivers: options.drivers ?? createDeviceDrivers({ clock: boardBuses.sim?.clock ?? clock }),
      buses: boardBuses.buses,
      ...(boardBuses.sim ? { sim: boardBuses.sim } : {}),
      clock,
      log,
    });
  } catch (err) {
    await boardBuses.close();
    throw err;
  }
  const service = new HalService(registry, clock, log);
  let closing: Promise<void> | undefined;
  return {
    service,
    registry,
    close: () =>
      (closing ??= (async () => {
        await registry.close();
        await boardBuses.close();
      })()),
  };
}
