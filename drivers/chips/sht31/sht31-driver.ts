/** The `sht31` entry of the driver table (Sensirion SHT3x-DIS humidity and temperature sensor). */
import * as z from 'zod/mini';
import '../../../runtime/zod-messages.ts';
import type { BusProvider, DeviceDriverDefinition, IDevice } from '../../device.ts';
import type { ISimWorld } from '../../sim-world.ts';
import { chipDriverContext, i2cBusField, i2cBusNumber, type ChipDriverOptions } from '../driver-context.ts';
import { registerSimPeripheral } from '../sim-registry.ts';
import { Sht31Device } from './sht31-device.ts';
import { SimSht31 } from './sim-sht31.ts';

export const sht31ConfigSchema = z.strictObject({
  bus: i2cBusField,
  /** ADDR pin to VSS -> 0x44, to VDD -> 0x45 (datasheet §3, pin assignment / I2C address). */
  address: z._default(z.union([z.literal(0x44), z.literal(0x45)]), 0x44),
});

export type Sht31Config = z.output<typeof sht31ConfigSchema>;

export function createSht31Driver(options: ChipDriverOptions = {}): DeviceDriverDefinition<Sht31Config> {
  const context = chipDriverContext(options);
  return {
    name: 'sht31',
    kind: 'sensor',
    configSchema: sht31ConfigSchema,
    async create(id: string, config: Sht31Config, buses: BusProvider): Promise<IDevice> {
      const bus = await buses.i2c(config.bus);
      return Sht31Device.open({ id, bus, address: config.address, clock: context.clock });
    },
    simulate(id: string, config: Sht31Config, world: ISimWorld): void {
      const sensor = new SimSht31({ clock: world.clock, random: context.random });
      world.i2c.attach(i2cBusNumber(config.bus), config.address, sensor);
      registerSimPeripheral(world, id, sensor);
    },
  };
}

export const sht31Driver = createSht31Driver();
