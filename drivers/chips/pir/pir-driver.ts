/** The `pir` entry of the driver table: a debounced digital input (motion sensor, contact, button). */
import * as z from 'zod/mini';
import '../../../runtime/zod-messages.ts';
import type { BusProvider, DeviceDriverDefinition, IDevice } from '../../device.ts';
import type { ISimWorld } from '../../sim-world.ts';
import { chipDriverContext, pinField, type ChipDriverOptions } from '../driver-context.ts';
import { registerSimPeripheral } from '../sim-registry.ts';
import { PirDevice } from './pir-device.ts';
import { SimPir } from './sim-pir.ts';

export const pirConfigSchema = z.strictObject({
  pin: pinField,
  /** An edge counts once the level has been stable this long. 0 disables debouncing. */
  debounceMs: z._default(z.int().check(z.gte(0), z.lte(10_000)), 50),
  /** true when the output is inverted (motion = low), e.g. behind an opto-isolator. */
  activeLow: z._default(z.boolean(), false),
  /** Sim board only: how often the simulated sensor sees motion, and how long its output stays high. */
  simulation: z.optional(
    z.strictObject({
      meanIntervalMs: z.optional(z.int().check(z.gte(100), z.lte(86_400_000))),
      holdMs: z.optional(z.tuple([z.int().check(z.gte(10)), z.int().check(z.gte(10))])),
    }),
  ),
});

export type PirConfig = z.output<typeof pirConfigSchema>;

export function createPirDriver(options: ChipDriverOptions = {}): DeviceDriverDefinition<PirConfig> {
  const context = chipDriverContext(options);
  return {
    name: 'pir',
    kind: 'input',
    configSchema: pirConfigSchema,
    async create(id: string, config: PirConfig, buses: BusProvider): Promise<IDevice> {
      const line = await buses.gpio().open(buses.resolvePin(config.pin), { direction: 'in', edge: 'both', activeLow: config.activeLow });
      return PirDevice.open({ id, line, debounceMs: config.debounceMs, clock: context.clock });
    },
    simulate(id: string, config: PirConfig, world: ISimWorld, buses: BusProvider): void {
      const sensor = new SimPir(world, {
        line: buses.resolvePin(config.pin),
        activeLow: config.activeLow,
        random: context.random,
        ...(config.simulation?.meanIntervalMs !== undefined ? { meanIntervalMs: config.simulation.meanIntervalMs } : {}),
        ...(config.simulation?.holdMs !== undefined ? { holdMs: config.simulation.holdMs } : {}),
      });
      registerSimPeripheral(world, id, sensor);
    },
  };
}

export const pirDriver = createPirDriver();
