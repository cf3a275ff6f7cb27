/**
 * The daemon-side HAL (spec 000 §4, docs/ARCHITECTURE.md "HAL and devices"): every agent call arrives here over the channel, is checked against
 * the agent's capability grants (ERR_CAPABILITY_DENIED, logged and counted, never reaching a driver) and the
 * device's safety envelope, and only then reaches the device driver.
 *
 * Lifecycle with the supervisor:
 *   admit(pid)   at spawn: resolve grants (ERR_CAPABILITY_INVALID) and claim actuators (ERR_DEVICE_BUSY: one live
 *                agent owns an actuator; a second claimant fails at spawn rather than later at runtime)
 *   attach(pid)  each time an isolate starts (first start and policy restarts): serve its channel
 *   detach(pid)  each time an isolate ends, for any reason: close its streams/watches/ports and drive every
 *                actuator it owns to its safe state, before the agent is reported ended
 *   release(pid) when the agent instance ends for good: its claims go
 *
 * Operators (the dashboard page, Home Assistant; spec 000 §3.2) switch an actuator through operatorControl():
 * the same envelope and rate limit as an agent's call, and never an actuator a live agent owns (ERR_DEVICE_BUSY), so
 * a person's click cannot fight the agent that controls the load.
 */
import type { Clock } from '../runtime/clock.ts';
import type { DeviceListEntry } from './device-list.ts';
import type { DaemonChannel, IsolateToDaemon } from '../runtime/core/channel-methods.ts';
import type { HandlerReply } from '../runtime/core/channel-endpoint.ts';
import { WithTransfer } from '../runtime/core/channel-endpoint.ts';
import { OpenStarryError } from '../runtime/core/errors.ts';
import type { Logger } from '../runtime/logging/logger.ts';
import { ActuatorGuard } from './actuator-guard.ts';
import { CapabilityGrants } from './capability-grants.ts';
import { HalCallStats } from './hal-call-stats.ts';
import type { HalCallRow, HalOperation } from './hal-call-stats.ts';
import type { DeviceRegistry, RegisteredDevice } from './device-registry.ts';
import { HalErrorCode } from './errors.ts';
import { HalSession } from './hal-session.ts';
import { isRecord } from '../runtime/validation.ts';

export class HalService {
  readonly #registry: DeviceRegistry;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #guards = new Map<string, ActuatorGuard>();
  /** actuator id -> owning pid */
  readonly #owners = new Map<string, { pid: string; agentId: string }>();
  readonly #grants = new Map<string, { agentId: string; grants: CapabilityGrants; denied: number }>();
  readonly #sessions = new Map<string, HalSession>();
  readonly #portOwners = new Map<string, HalSession>();
  readonly #operator = { applied: 0, refused: 0 };
  /** Calls and refusals by device and operation (README "Prometheus", `/metrics`). */
  readonly #calls: HalCallStats;

  constructor(registry: DeviceRegistry, clock: Clock, log: Logger) {
    this.#registry = registry;
    this.#calls = new HalCallStats((id) => registry.get(id) !== undefined);
    this.#clock = clock;
    this.#log = log;
    for (const d of registry.list()) {
      if (d.device?.kind === 'actuator') this.#guards.set(d.id, new ActuatorGuard(d.id, d.device.envelope, d.rateLimit, clock));
    }
  }

  get registry(): DeviceRegistry {
    return this.#registry;
  }

  /** At spawn. @throws ERR_CAPABILITY_INVALID, ERR_DEVICE_BUSY */
  admit(pid: string, agentId: string, capabilities: readonly string[]): void {
    const grants = CapabilityGrants.resolve(capabilities, this.#registry.views());
    for (const id of grants.actuators) {
      const owner = this.#owners.get(id);
      if (owner && owner.pid !== pid) {
        throw new OpenStarryError(HalErrorCode.DEVICE_BUSY, `actuator "${id}" is owned by agent ${owner.agentId} (pid ${owner.pid}); one agent controls an actuator at a time`);
      }
    }
    for (const id of grants.actuators) this.#owners.set(id, { pid, agentId });
    this.#grants.set(pid, { agentId, grants, denied: 0 });
  }

  /** Serves HAL calls on this isolate's channel. */
  attach(pid: string, channel: DaemonChannel): void {
    const entry = this.#grants.get(pid);
    if (!entry) throw new OpenStarryError(HalErrorCode.CAPABILITY_DENIED, `pid ${pid} was not admitted by the HAL`);
    const session = new HalSession({
      pid,
      agentId: entry.agentId,
      grants: entry.grants,
      registry: this.#registry,
      guards: this.#guards,
      channel,
      clock: this.#clock,
      log: this.#log,
      onDenied: () => (entry.denied += 1),
      portOwners: this.#portOwners,
    });
    this.#sessions.set(pid, session);
    // Params come from agent code: anything that is not an object reaches the session's checks as {}.
    const handle = <M extends keyof IsolateToDaemon['requests']>(method: M, fn: (p: Record<string, unknown>) => HandlerReply<IsolateToDaemon['requests'][M]['result']>) =>
      channel.handle(method, (params) => fn(isRecord(params) ? params : {}));
    // The calls that name a device are counted by device and operation; the stream calls after an open are not.
    const counted = <M extends keyof IsolateToDaemon['requests']>(method: M, operation: HalOperation, device: (p: Record<string, unknown>) => unknown, fn: (p: Record<string, unknown>) => IsolateToDaemon['requests'][M]['result'] | Promise<IsolateToDaemon['requests'][M]['result']>) =>
      handle(method, (p) => {
        const id = device(p);
        return this.#calls.count(typeof id === 'string' ? id : undefined, operation, () => fn(p));
      });
    // The sensor is resolved once: the count and the read go to the same device.
    handle('hal.read', (p) => {
      const target = session.sensorTarget(p.sensorType);
      return this.#calls.count(target.deviceId, 'read', () => session.read(target));
    });
    counted('hal.control', 'control', (p) => p.deviceId, (p) => session.control(p.deviceId, p.command));
    counted('hal.watch', 'watch', (p) => p.deviceId, (p) => session.watch(p.deviceId));
    handle('hal.unwatch', (p) => session.unwatch(p.watchId));
    counted('hal.camera.open', 'camera.open', (p) => p.deviceId, (p) => session.openCamera(p.deviceId));
    handle('hal.camera.next', async (p) => {
      const frame = await session.nextFrame(p.streamId, p.after);
      return new WithTransfer(frame, [frame.jpeg]);
    });
    handle('hal.camera.close', (p) => session.closeCamera(p.streamId));
    counted('hal.serial.open', 'serial.open', (p) => p.deviceId, (p) => session.openSerial(p.deviceId));
    handle('hal.serial.read', async (p) => {
      const data = await session.readSerial(p.portId);
      return data === null ? { data } : new WithTransfer({ data }, [data]);
    });
    counted('hal.serial.write', 'serial.write', (p) => session.portDevice(p.portId), (p) => session.writeSerial(p.portId, p.data));
    handle('hal.serial.close', (p) => session.closeSerial(p.portId));
  }

  /** The isolate ended (any reason): close its handles, then safe state for every actuator it owns. */
  async detach(pid: string): Promise<void> {
    // Safe state first: nothing that happens while closing the isolate's handles may leave an actuator on.
    for (const [id, owner] of this.#owners) {
      if (owner.pid !== pid) continue;
      const d = this.#registry.get(id)?.device;
      if (d?.kind !== 'actuator') continue;
      // One retry: a transient bus error must not leave the load running (writes on a line are ordered, so this
      // lands after any command the agent had in flight).
      for (let attempt = 1; attempt <= 2; attempt++) {
        try {
          await d.apply(d.safeState);
          this.#log.info(`actuator ${id} -> ${String(d.safeState)} (safe state: agent ${owner.agentId} pid ${pid} ended)`);
          break;
        } catch (err) {
          this.#log.error(`actuator ${id} could not be driven to its safe state after pid ${pid} ended (attempt ${attempt}): ${(err as Error).message}`);
        }
      }
    }
    const session = this.#sessions.get(pid);
    this.#sessions.delete(pid);
    await session?.close().catch((err: Error) => this.#log.error(`closing the HAL handles of pid ${pid} failed: ${err.message}`));
  }

  /** The instance ended for good: its actuator claims go. */
  release(pid: string): void {
    for (const [id, owner] of this.#owners) if (owner.pid === pid) this.#owners.delete(id);
    this.#grants.delete(pid);
  }

  /**
   * An operator's command to an actuator (origin names who, for the log: `dashboard`, `homeassistant`). Refused with
   * ERR_DEVICE_NOT_FOUND (no such actuator), ERR_DEVICE_FAILED, ERR_DEVICE_BUSY (a live agent owns it),
   * ERR_ENVELOPE_VIOLATION or ERR_RATE_LIMITED — logged and counted (operatorStats()), never reaching the driver.
   */
  async operatorControl(deviceId: string, command: unknown, origin: string): Promise<void> {
    const refused = this.#calls.call(deviceId, 'operator.control');
    try {
      const entry = this.#registry.get(deviceId);
      if (!entry) throw new OpenStarryError(HalErrorCode.DEVICE_NOT_FOUND, `no device "${deviceId}"`);
      if (!entry.device) throw new OpenStarryError(HalErrorCode.DEVICE_FAILED, `device "${deviceId}" is not working: ${entry.error ?? 'unknown error'}`);
      const device = entry.device;
      if (device.kind !== 'actuator') throw new OpenStarryError(HalErrorCode.DEVICE_NOT_FOUND, `device "${deviceId}" is a ${device.kind}, not an actuator`);
      const owner = this.#owners.get(deviceId);
      if (owner) throw new OpenStarryError(HalErrorCode.DEVICE_BUSY, `actuator "${deviceId}" is owned by agent ${owner.agentId} (pid ${owner.pid}); only its owner switches it`);
      if (typeof command !== 'string' && typeof command !== 'number' && typeof command !== 'boolean') {
        throw new OpenStarryError(HalErrorCode.ENVELOPE_VIOLATION, `${deviceId}: a command is a string, number or boolean`);
      }
      const guard = this.#guards.get(deviceId);
      await device.apply(guard ? guard.admit(command) : command);
      this.#operator.applied += 1;
      this.#log.info(`actuator ${deviceId} -> ${JSON.stringify(command)} (operator: ${origin})`);
    } catch (err) {
      this.#operator.refused += 1;
      refused(err);
      this.#log.warn(`operator command refused (${origin}): ${deviceId} ${JSON.stringify(command) ?? 'undefined'}: ${(err as Error).message}`);
      throw err;
    }
  }

  /** Operator commands applied and refused since start. */
  operatorStats(): { applied: number; refused: number } {
    return { ...this.#operator };
  }

  /** HAL calls and refusals by device and operation since start (agents' calls and operator commands). */
  callStats(): HalCallRow[] {
    return this.#calls.rows();
  }

  /** Refused calls per live agent pid. */
  deniedCount(pid: string): number {
    return this.#grants.get(pid)?.denied ?? 0;
  }

  devices(): DeviceListEntry[] {
    return this.#registry.list().map((d) => describe(d, this.#owners.get(d.id) ?? [...this.#sessions.values()].find((s) => s.usesPort(d.id))?.owner));
  }
}

function describe(d: RegisteredDevice, owner: { pid: string; agentId: string } | undefined): DeviceListEntry {
  const entry: DeviceListEntry = { id: d.id, kind: d.kind, driver: d.driver, origin: d.origin, state: d.device ? 'ok' : 'failed' };
  if (d.device) {
    const s = d.device.status();
    if (s.value !== undefined) entry.value = s.value;
    if (s.updatedAt !== undefined) entry.updatedAt = s.updatedAt;
    if (s.error !== undefined) entry.error = s.error;
  } else if (d.error !== undefined) {
    entry.error = d.error;
  }
  if (owner) entry.owner = owner;
  return entry;
}

