/** The `gps-nmea` entry of the driver table: a GPS receiver speaking NMEA 0183 on a serial port. */
import * as z from 'zod/mini';
import '../../../runtime/zod-messages.ts';
import { baudRateField } from '../../serial/serial-options.ts';
import type { BusProvider, DeviceDriverDefinition, IDevice } from '../../device.ts';
import type { ISimWorld } from '../../sim-world.ts';
import { chipDriverContext, type ChipDriverOptions } from '../driver-context.ts';
import { registerSimPeripheral } from '../sim-registry.ts';
import { GpsNmeaDevice } from './gps-device.ts';
import { SimGps } from './sim-gps.ts';

export const gpsNmeaConfigSchema = z.strictObject({
  /** A serial port name from the board profile (e.g. "uart0") or a device path (/dev/ttyAMA0, /dev/ttyUSB0). */
  port: z.string().check(z.minLength(1)),
  /** NMEA 0183 is specified at 4800 baud; nearly every current module defaults to 9600. */
  baudRate: baudRateField,
  /** Values older than this (no sentence since) are not answered. The receiver talks every second. */
  staleAfterMs: z._default(z.int().check(z.gte(1000), z.lte(600_000)), 5000),
});

export type GpsNmeaConfig = z.output<typeof gpsNmeaConfigSchema>;

export function createGpsNmeaDriver(options: ChipDriverOptions = {}): DeviceDriverDefinition<GpsNmeaConfig> {
  const context = chipDriverContext(options);
  return {
    name: 'gps-nmea',
    kind: 'sensor',
    configSchema: gpsNmeaConfigSchema,
    async create(id: string, config: GpsNmeaConfig, buses: BusProvider): Promise<IDevice> {
      return GpsNmeaDevice.open({
        id,
        serial: buses.serial(),
        path: buses.resolveSerialPort(config.port),
        baudRate: config.baudRate,
        clock: context.clock,
        staleAfterMs: config.staleAfterMs,
      });
    },
    simulate(id: string, config: GpsNmeaConfig, world: ISimWorld, buses: BusProvider): void {
      const gps = new SimGps(world, { path: buses.resolveSerialPort(config.port), random: context.random });
      registerSimPeripheral(world, id, gps);
    },
  };
}

export const gpsNmeaDriver = createGpsNmeaDriver();
