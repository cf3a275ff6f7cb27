/**
 * The device registry (docs/ARCHITECTURE.md "HAL and devices"): the board profile's devices plus the config's `devices[]`, validated at boot,
 * then built through the driver table on the board's buses. Configuration mistakes (unknown driver, bad field,
 * unknown pin or bus, duplicate id) fail the boot with every problem named by device; a device whose hardware
 * fails to initialise is kept as `failed` with its error, so one dead sensor does not stop the board.
 *
 * Actuators are driven to their safe state as soon as they exist (daemon start) and again on close (daemon stop).
 */
import type { Clock } from '../runtime/clock.ts';
import { OpenStarryError } from '../runtime/core/errors.ts';
import type { Logger } from '../runtime/logging/logger.ts';
import { zodProblems } from '../runtime/validation.ts';
import type { BusProvider, DeviceDriverDefinition, DeviceKind, IDevice } from '../drivers/device.ts';
import { isDriverError } from '../drivers/errors.ts';
import type { ISimWorld } from '../drivers/sim-world.ts';
import type { RateLimit } from './actuator-guard.ts';
import { DEFAULT_RATE_LIMIT } from './actuator-guard.ts';
import type { DeviceView } from './capability-grants.ts';
import { deviceEntrySchema, driverFields } from './device-config.ts';
import { HalErrorCode } from './errors.ts';

export interface DeviceSource {
  /** Where the entry came from, for error messages: `config devices.2`, `board sim devices.0`. */
  where: string;
  origin: 'board' | 'config';
  entry: unknown;
}

export interface RegisteredDevice {
  id: string;
  driver: string;
  kind: DeviceKind;
  origin: 'board' | 'config';
  rateLimit: RateLimit;
  /** Absent when the hardware failed to initialise; `error` says why. */
  device?: IDevice;
  error?: string;
}

export interface RegistryOptions {
  sources: readonly DeviceSource[];
  drivers: ReadonlyMap<string, DeviceDriverDefinition>;
  buses: BusProvider;
  /** Present on the sim board: drivers attach their simulated peripherals to it. */
  sim?: ISimWorld;
  clock: Clock;
  log: Logger;
}

interface Planned {
  id: string;
  definition: DeviceDriverDefinition;
  config: Record<string, unknown>;
  origin: 'board' | 'config';
  where: string;
  rateLimit: RateLimit;
}

export class DeviceRegistry {
  readonly #devices = new Map<string, RegisteredDevice>();
  #views: ReadonlyMap<string, DeviceView> | undefined;
  readonly #log: Logger;
  #closed = false;

  private constructor(log: Logger) {
    this.#log = log;
  }

  static async build(options: RegistryOptions): Promise<DeviceRegistry> {
    const planned = plan(options.sources, options.drivers);
    const registry = new DeviceRegistry(options.log);
    const problems: string[] = [];
    for (const p of planned) {
      try {
        if (options.sim) p.definition.simulate?.(p.id, p.config, options.sim, options.buses);
        const device = await p.definition.create(p.id, p.config, options.buses);
        registry.#devices.set(p.id, { id: p.id, driver: p.definition.name, kind: device.kind, origin: p.origin, rateLimit: p.rateLimit, device });
      } catch (err) {
        if (!isDriverError(err)) {
          problems.push(`${p.where} (${p.id}): ${(err as Error).message}`);
          continue;
        }
        options.log.error(`device ${p.id} (${p.definition.name}) failed to initialise: ${err.code}: ${err.message}`);
        registry.#devices.set(p.id, { id: p.id, driver: p.definition.name, kind: p.definition.kind, origin: p.origin, rateLimit: p.rateLimit, error: `${err.code}: ${err.message}` });
      }
    }
    if (problems.length > 0) {
      await registry.close();
      throw new OpenStarryError(HalErrorCode.DEVICE_CONFIG_INVALID, `invalid devices: ${problems.join('; ')}`, { details: { problems } });
    }
    await registry.safeAll('daemon start');
    return registry;
  }

  get(id: string): RegisteredDevice | undefined {
    return this.#devices.get(id);
  }

  list(): RegisteredDevice[] {
    return [...this.#devices.values()];
  }

  /**
   * Kind and quantities of every device, for resolving capability grants and quantity reads. The device set is fixed
   * once build() returns, so this is computed once, not on every getSensorData('temperature').
   */
  views(): ReadonlyMap<string, DeviceView> {
    if (this.#views) return this.#views;
    const views = new Map<string, DeviceView>();
    for (const d of this.#devices.values()) {
      const quantities = d.device?.kind === 'sensor' ? d.device.quantities : undefined;
      views.set(d.id, Object.freeze(quantities ? { id: d.id, kind: d.kind, quantities } : { id: d.id, kind: d.kind }));
    }
    this.#views = views;
    return views;
  }

  /** Drives every working actuator to its safe state; failures are logged, never thrown. */
  async safeAll(why: string): Promise<void> {
    for (const d of this.#devices.values()) {
      if (d.device?.kind !== 'actuator') continue;
      try {
        await d.device.apply(d.device.safeState);
        this.#log.info(`actuator ${d.id} -> ${String(d.device.safeState)} (safe state, ${why})`);
      } catch (err) {
        this.#log.error(`actuator ${d.id} could not be driven to its safe state (${why}): ${(err as Error).message}`);
      }
    }
  }

  /** Safe state for every actuator, then close every device. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.safeAll('daemon stop');
    for (const d of [...this.#devices.values()].reverse()) {
      await d.device?.close().catch((err: Error) => this.#log.warn(`device ${d.id} close failed: ${err.message}`));
    }
  }
}

/** Validates every entry (common fields + driver fields) and resolves ids; throws listing all problems. */
function plan(sources: readonly DeviceSource[], drivers: ReadonlyMap<string, DeviceDriverDefinition>): Planned[] {
  const problems: string[] = [];
  const byId = new Map<string, Planned>();
  for (const source of sources) {
    const common = deviceEntrySchema.safeParse(source.entry);
    if (!common.success) {
      for (const p of zodProblems(common.error)) problems.push(`${source.where}: ${p.path || '(entry)'}: ${p.message}`);
      continue;
    }
    const entry = common.data;
    const definition = drivers.get(entry.driver);
    if (!definition) {
      problems.push(`${source.where} (${entry.id}): driver: unknown driver "${entry.driver}" (known: ${[...drivers.keys()].sort().join(', ')})`);
      continue;
    }
    const fields = definition.configSchema.safeParse(driverFields(entry));
    if (!fields.success) {
      for (const p of zodProblems(fields.error)) problems.push(`${source.where} (${entry.id}): ${p.path || '(entry)'}: ${p.message}`);
      continue;
    }
    const existing = byId.get(entry.id);
    if (existing && existing.origin === source.origin) {
      problems.push(`${source.where}: id: duplicate device id "${entry.id}" (also ${existing.where})`);
      continue;
    }
    // A config entry replaces the board's default device of the same id (e.g. reconfiguring the sim's env0).
    if (existing && source.origin === 'board') continue;
    const rateLimit = entry.rateLimit ? { perSecond: entry.rateLimit.perSecond, burst: entry.rateLimit.burst ?? Math.max(1, Math.ceil(entry.rateLimit.perSecond)) } : DEFAULT_RATE_LIMIT;
    byId.set(entry.id, { id: entry.id, definition, config: fields.data, origin: source.origin, where: source.where, rateLimit });
  }
  if (problems.length > 0) {
    throw new OpenStarryError(HalErrorCode.DEVICE_CONFIG_INVALID, `invalid devices: ${problems.join('; ')}`, { details: { problems } });
  }
  return [...byId.values()];
}
