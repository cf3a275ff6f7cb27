/** The `relay` entry of the driver table: an on/off actuator on a GPIO output. */
import * as z from 'zod/mini';
import '../../../runtime/zod-messages.ts';
import type { BusProvider, DeviceDriverDefinition, IDevice } from '../../device.ts';
import { chipDriverContext, pinField, type ChipDriverOptions } from '../driver-context.ts';
import { RelayDevice } from './relay-device.ts';

export const relayConfigSchema = z.strictObject({
  /** Header pin number or SoC line name as the board profile knows it (e.g. 11 or "GPIO17"). */
  pin: pinField,
  /** true when the module switches on with its input low. */
  activeLow: z._default(z.boolean(), false),
  /** What the relay is driven to when its owner ends and at daemon start/stop; also its level at open. */
  safeState: z._default(z.enum(['on', 'off']), 'off'),
});

export type RelayConfig = z.output<typeof relayConfigSchema>;

export function createRelayDriver(options: ChipDriverOptions = {}): DeviceDriverDefinition<RelayConfig> {
  const context = chipDriverContext(options);
  return {
    name: 'relay',
    kind: 'actuator',
    configSchema: relayConfigSchema,
    async create(id: string, config: RelayConfig, buses: BusProvider): Promise<IDevice> {
      const line = await buses.gpio().open(buses.resolvePin(config.pin), {
        direction: 'out',
        activeLow: config.activeLow,
        initial: RelayDevice.initialLevel(config.safeState),
      });
      return new RelayDevice(id, line, config.safeState, context.clock);
    },
    // simulate(): nothing to attach — the sim GPIO records the level an output drives (ISimGpio.level).
  };
}

export const relayDriver = createRelayDriver();
