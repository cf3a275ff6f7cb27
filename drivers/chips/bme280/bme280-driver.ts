/**
 * The `bme280` entry of the driver table: config schema, the device factory, and the simulated chip the sim
 * board puts at the configured address.
 */
import * as z from 'zod/mini';
import '../../../runtime/zod-messages.ts';
import type { BusProvider, DeviceDriverDefinition, IDevice } from '../../device.ts';
import type { ISimWorld } from '../../sim-world.ts';
import { chipDriverContext, i2cBusField, i2cBusNumber, type ChipDriverOptions } from '../driver-context.ts';
import { registerSimPeripheral } from '../sim-registry.ts';
import { Bme280Device } from './bme280-device.ts';
import { SimBme280 } from './sim-bme280.ts';

export const bme280ConfigSchema = z.strictObject({
  bus: i2cBusField,
  /** SDO to GND -> 0x76, SDO to VDDIO -> 0x77 (§6.2). */
  address: z._default(z.union([z.literal(0x76), z.literal(0x77)]), 0x76),
});

export type Bme280Config = z.output<typeof bme280ConfigSchema>;

export function createBme280Driver(options: ChipDriverOptions = {}): DeviceDriverDefinition<Bme280Config> {
  const context = chipDriverContext(options);
  return {
    name: 'bme280',
    kind: 'sensor',
    configSchema: bme280ConfigSchema,
    async create(id: string, config: Bme280Config, buses: BusProvider): Promise<IDevice> {
      const bus = await buses.i2c(config.bus);
      return Bme280Device.open({ id, bus, address: config.address, clock: context.clock });
    },
    simulate(id: string, config: Bme280Config, world: ISimWorld): void {
      const chip = new SimBme280({ clock: world.clock, random: context.random });
      world.i2c.attach(i2cBusNumber(config.bus), config.address, chip);
      registerSimPeripheral(world, id, chip);
    },
  };
}

export const bme280Driver = createBme280Driver();
