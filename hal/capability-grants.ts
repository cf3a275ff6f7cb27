/**
 * Capability grants (README "Writing an agent"): a manifest's capability strings resolved against the device registry at spawn.
 * A capability naming an unknown device, or a device of the wrong kind, fails the spawn with
 * ERR_CAPABILITY_INVALID (all problems listed at once). What remains answers the HAL service's per-call checks.
 *
 * Hardware kinds and what they grant:
 *   sensor:<device>:read         read any quantity of that sensor
 *   sensor:<quantity>:read       read that quantity from any sensor measuring it (e.g. sensor:temperature:read)
 *   actuator:<device>:control    own the actuator and send it commands (exclusive: one live agent per actuator)
 *   gpio:<device>:read|watch     read / watch an input device's edges
 *   camera:<device>:stream|snapshot
 *   serial:<device>:open         open the serial device as a byte stream (one opener at a time)
 * events, agents and net capabilities are not hardware; they are checked here for syntax only.
 */
import { OpenStarryError } from '../runtime/core/errors.ts';
import type { DeviceKind } from '../drivers/device.ts';
import type { Capability } from './capability-grammar.ts';
import { parseCapability } from './capability-grammar.ts';
import { HalErrorCode } from './errors.ts';

/** What grants need to know about a device. */
export interface DeviceView {
  id: string;
  kind: DeviceKind;
  quantities?: readonly string[];
}

const KIND_FOR: Partial<Record<Capability['kind'], { kinds: DeviceKind[]; ops?: string[] }>> = {
  sensor: { kinds: ['sensor'] },
  actuator: { kinds: ['actuator'] },
  gpio: { kinds: ['input'], ops: ['read', 'watch'] },
  camera: { kinds: ['camera'] },
  serial: { kinds: ['serial'] },
};

export class CapabilityGrants {
  readonly #granted = new Set<string>();
  readonly #quantities = new Set<string>();
  readonly #actuators: string[] = [];

  private constructor() {}

  /** @throws ERR_CAPABILITY_INVALID listing every capability that names no device of the right kind */
  static resolve(capabilities: readonly string[], devices: ReadonlyMap<string, DeviceView>): CapabilityGrants {
    const grants = new CapabilityGrants();
    const problems: string[] = [];
    const known = [...devices.keys()].join(', ') || '(none)';
    for (const raw of capabilities) {
      const cap = parseCapability(raw);
      if ('error' in cap) {
        problems.push(cap.error);
        continue;
      }
      const rule = KIND_FOR[cap.kind];
      if (!rule) continue; // events / agents / net: not the HAL's
      const device = devices.get(cap.resource);
      if (cap.kind === 'sensor' && !device) {
        const measured = [...devices.values()].some((d) => d.kind === 'sensor' && d.quantities?.includes(cap.resource));
        if (measured) {
          grants.#quantities.add(cap.resource);
          continue;
        }
        problems.push(`"${raw}": no sensor "${cap.resource}" and no sensor measures a quantity of that name (devices: ${known})`);
        continue;
      }
      if (!device) {
        problems.push(`"${raw}": no device "${cap.resource}" (devices: ${known})`);
        continue;
      }
      if (!rule.kinds.includes(device.kind)) {
        problems.push(`"${raw}": device "${device.id}" is a ${device.kind}, not a ${rule.kinds.join('/')}`);
        continue;
      }
      if (rule.ops && !rule.ops.includes(cap.operation)) {
        problems.push(`"${raw}": ${cap.operation} is not possible on ${device.kind} "${device.id}" (use ${rule.ops.join(' or ')}; outputs are actuators)`);
        continue;
      }
      grants.#granted.add(`${cap.kind}:${device.id}:${cap.operation}`);
      if (cap.kind === 'actuator' && !grants.#actuators.includes(device.id)) grants.#actuators.push(device.id);
    }
    if (problems.length > 0) {
      throw new OpenStarryError(HalErrorCode.CAPABILITY_INVALID, `invalid capabilities: ${problems.join('; ')}`, { details: { problems } });
    }
    return grants;
  }

  /** `sensor:<device>:read`, or `sensor:<quantity>:read` for that quantity. */
  canRead(deviceId: string, quantity: string): boolean {
    return this.#granted.has(`sensor:${deviceId}:read`) || this.#quantities.has(quantity);
  }

  /**
   * The device this agent reads `quantity` from: the first directly granted sensor measuring it, else the first one a
   * quantity grant covers (devices in registry order).
   */
  sensorFor(quantity: string, devices: Iterable<DeviceView>): string | undefined {
    let byQuantity: string | undefined;
    for (const d of devices) {
      if (d.kind !== 'sensor' || !d.quantities?.includes(quantity)) continue;
      if (this.#granted.has(`sensor:${d.id}:read`)) return d.id;
      if (byQuantity === undefined && this.#quantities.has(quantity)) byQuantity = d.id;
    }
    return byQuantity;
  }

  has(kind: 'actuator' | 'gpio' | 'camera' | 'serial', deviceId: string, operation: string): boolean {
    return this.#granted.has(`${kind}:${deviceId}:${operation}`);
  }

  /** Actuators this agent claims at spawn (exclusive ownership). */
  get actuators(): readonly string[] {
    return this.#actuators;
  }
}
