/**
 * One isolate's HAL session: validates each call's params (they come from agent code), checks the grant, then
 * calls the device. Holds the isolate's open handles (watches, camera streams, serial ports) so they all close
 * when the isolate ends. Denials are logged with the agent, the call and the missing capability.
 */
import type { Clock } from '../runtime/clock.ts';
import type { DaemonChannel } from '../runtime/core/channel-methods.ts';
import type { HalInputEdge } from '../runtime/core/hal-api.ts';
import { ErrorCode, OpenStarryError } from '../runtime/core/errors.ts';
import type { Logger } from '../runtime/logging/logger.ts';
import type { IDevice } from '../drivers/device.ts';
import type { ActuatorGuard } from './actuator-guard.ts';
import { CameraRelay } from './camera-relay.ts';
import type { RelayedFrame } from './camera-relay.ts';
import type { CapabilityGrants } from './capability-grants.ts';
import type { DeviceRegistry } from './device-registry.ts';
import { HalErrorCode } from './errors.ts';
import { SerialRelay } from './serial-relay.ts';

/** How long a camera pull waits for a frame before failing (a stalled camera must not hang the agent forever). */
export const FRAME_TIMEOUT_MS = 10_000;

/** Handles one isolate may hold: each costs the daemon a subscription and memory, outside the agent's limits. */
export const MAX_WATCHES = 16;
export const MAX_CAMERA_STREAMS = 4;
/** Largest serial write accepted: more would sit in the daemon's memory for minutes at 9600 baud. */
export const MAX_SERIAL_WRITE_BYTES = 64 * 1024;
/** Denials logged per isolate before they are only counted (and summarised once a minute). */
export const DENIALS_LOGGED = 20;

export interface SessionOptions {
  pid: string;
  agentId: string;
  grants: CapabilityGrants;
  registry: DeviceRegistry;
  guards: ReadonlyMap<string, ActuatorGuard>;
  channel: DaemonChannel;
  clock: Clock;
  log: Logger;
  onDenied: () => void;
  /** Serial device id -> the session that has it open (exclusive across agents), shared by the HAL service. */
  portOwners: Map<string, HalSession>;
}

/** A read's sensor as resolved by HalSession.sensorTarget(). */
export interface SensorTarget {
  /** The call's param as the agent sent it; read() checks it. */
  readonly sensorType: unknown;
  /** The device named before the dot, else the first granted device measuring the quantity; undefined: none (or not a string). */
  readonly deviceId: string | undefined;
}

export class HalSession {
  readonly #o: SessionOptions;
  readonly #watches = new Map<number, () => void>();
  readonly #cameras = new Map<number, CameraRelay>();
  readonly #ports = new Map<number, { deviceId: string; relay: SerialRelay }>();
  #nextHandle = 1;
  #closed = false;
  #denials = 0;

  constructor(options: SessionOptions) {
    this.#o = options;
  }

  get owner(): { pid: string; agentId: string } {
    return { pid: this.#o.pid, agentId: this.#o.agentId };
  }

  usesPort(deviceId: string): boolean {
    return this.#o.portOwners.get(deviceId) === this;
  }

  /**
   * The device a read of `sensorType` goes to (`env0.temperature`, or the first granted device measuring it). Resolved
   * once per call: hal-service.ts counts the read by this device, then hands the same target to read(), so a bare
   * quantity's scan of the devices is not done twice.
   */
  sensorTarget(sensorType: unknown): SensorTarget {
    if (typeof sensorType !== 'string') return { sensorType, deviceId: undefined };
    const dot = sensorType.indexOf('.');
    return { sensorType, deviceId: dot > 0 ? sensorType.slice(0, dot) : this.#o.grants.sensorFor(sensorType, this.#o.registry.views().values()) };
  }

  /** The serial device behind an open port id, for counting. */
  portDevice(portId: unknown): string | undefined {
    return typeof portId === 'number' ? this.#ports.get(portId)?.deviceId : undefined;
  }

  /** Reads what sensorTarget() resolved; the checks of `sensorType` itself are made here, inside the counted call. */
  async read(target: SensorTarget): Promise<number> {
    const type = str(target.sensorType, 'sensorType');
    const dot = type.indexOf('.');
    if (dot > 0) {
      const deviceId = type.slice(0, dot);
      const quantity = type.slice(dot + 1);
      if (!this.#o.grants.canRead(deviceId, quantity)) throw this.#deny('getSensorData', type, `sensor:${deviceId}:read`);
      const device = this.#device(deviceId, 'sensor');
      if (!device.quantities.includes(quantity)) throw new OpenStarryError(HalErrorCode.DEVICE_NOT_FOUND, `${deviceId} does not measure "${quantity}" (it measures ${device.quantities.join(', ')})`);
      return device.read(quantity);
    }
    const first = target.deviceId;
    // canRead again (a lookup, not sensorFor's scan): read() trusts no target it did not resolve, whoever built it.
    if (first === undefined || !this.#o.grants.canRead(first, type)) throw this.#deny('getSensorData', type, `sensor:${type}:read or sensor:<device>:read for a device measuring ${type}`);
    return this.#device(first, 'sensor').read(type);
  }

  async control(deviceId: unknown, command: unknown): Promise<void> {
    const id = str(deviceId, 'deviceId');
    if (!this.#o.grants.has('actuator', id, 'control')) throw this.#deny('controlActuator', id, `actuator:${id}:control`);
    if (typeof command !== 'string' && typeof command !== 'number' && typeof command !== 'boolean') {
      throw new OpenStarryError(HalErrorCode.ENVELOPE_VIOLATION, `${id}: a command is a string, number or boolean`);
    }
    const device = this.#device(id, 'actuator');
    const guard = this.#o.guards.get(id);
    await device.apply(guard ? guard.admit(command) : command);
  }

  watch(deviceId: unknown): { watchId: number } {
    const id = str(deviceId, 'deviceId');
    if (!this.#o.grants.has('gpio', id, 'watch')) throw this.#deny('watch', id, `gpio:${id}:watch`);
    const device = this.#device(id, 'input');
    if (this.#watches.size >= MAX_WATCHES) throw new OpenStarryError(HalErrorCode.TOO_MANY_HANDLES, `at most ${MAX_WATCHES} watches per agent`);
    const watchId = this.#nextHandle++;
    const stop = device.watch((edge) => this.#o.channel.notify('hal.edge', { watchId, edge: { edge: edge.edge, value: edge.value, at: edge.at } satisfies HalInputEdge }));
    this.#watches.set(watchId, stop);
    return { watchId };
  }

  unwatch(watchId: unknown): void {
    const id = num(watchId, 'watchId');
    this.#watches.get(id)?.();
    this.#watches.delete(id);
  }

  openCamera(deviceId: unknown): { streamId: number } {
    const id = str(deviceId, 'deviceId');
    if (!this.#o.grants.has('camera', id, 'stream')) throw this.#deny('getCameraStream', id, `camera:${id}:stream`);
    const device = this.#device(id, 'camera');
    if (this.#cameras.size >= MAX_CAMERA_STREAMS) throw new OpenStarryError(HalErrorCode.TOO_MANY_HANDLES, `at most ${MAX_CAMERA_STREAMS} camera streams per agent`);
    const streamId = this.#nextHandle++;
    this.#cameras.set(streamId, new CameraRelay(device.source, this.#o.clock));
    return { streamId };
  }

  nextFrame(streamId: unknown, after: unknown): Promise<RelayedFrame> {
    const relay = this.#cameras.get(num(streamId, 'streamId'));
    if (!relay) throw new OpenStarryError(HalErrorCode.HANDLE_CLOSED, `no camera stream ${String(streamId)}`);
    return relay.next(num(after, 'after'), FRAME_TIMEOUT_MS);
  }

  closeCamera(streamId: unknown): void {
    const id = num(streamId, 'streamId');
    this.#cameras.get(id)?.close();
    this.#cameras.delete(id);
  }

  async openSerial(deviceId: unknown): Promise<{ portId: number }> {
    const id = str(deviceId, 'deviceId');
    if (!this.#o.grants.has('serial', id, 'open')) throw this.#deny('openSerial', id, `serial:${id}:open`);
    const device = this.#device(id, 'serial');
    const holder = this.#o.portOwners.get(id);
    if (holder && holder !== this) throw new OpenStarryError(HalErrorCode.DEVICE_BUSY, `serial device "${id}" is open by agent ${holder.owner.agentId} (pid ${holder.owner.pid})`);
    if (holder === this) throw new OpenStarryError(HalErrorCode.DEVICE_BUSY, `serial device "${id}" is already open by this agent`);
    this.#o.portOwners.set(id, this);
    let relay: SerialRelay;
    try {
      relay = new SerialRelay(await device.open());
    } catch (err) {
      this.#o.portOwners.delete(id);
      throw err;
    }
    // The isolate may have ended while the port was opening: then nobody will ever close it but us, now.
    if (this.#closed) {
      await relay.close();
      if (this.#o.portOwners.get(id) === this) this.#o.portOwners.delete(id);
      throw new OpenStarryError(HalErrorCode.HANDLE_CLOSED, `serial device "${id}" opened after its agent ended; closed again`);
    }
    const portId = this.#nextHandle++;
    this.#ports.set(portId, { deviceId: id, relay });
    return { portId };
  }

  readSerial(portId: unknown): Promise<ArrayBuffer | null> {
    return this.#port(portId).relay.read();
  }

  writeSerial(portId: unknown, data: unknown): Promise<void> {
    if (!(data instanceof ArrayBuffer)) throw new OpenStarryError(ErrorCode.INVALID_PARAMS, 'serial write data must be bytes');
    if (data.byteLength > MAX_SERIAL_WRITE_BYTES) {
      throw new OpenStarryError(ErrorCode.INVALID_PARAMS, `a serial write is at most ${MAX_SERIAL_WRITE_BYTES} bytes (got ${data.byteLength}); write in chunks`);
    }
    return this.#port(portId).relay.write(data);
  }

  /** Resolves once the port is really released (a tty flushes and closes on the thread pool), then frees the claim. */
  async closeSerial(portId: unknown): Promise<void> {
    const id = num(portId, 'portId');
    const port = this.#ports.get(id);
    if (!port) return;
    this.#ports.delete(id);
    await port.relay.close();
    if (this.#o.portOwners.get(port.deviceId) === this) this.#o.portOwners.delete(port.deviceId);
  }

  /** Closes every handle of this isolate; resolves when serial ports are released. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const stop of this.#watches.values()) stop();
    this.#watches.clear();
    for (const relay of this.#cameras.values()) relay.close();
    this.#cameras.clear();
    await Promise.all([...this.#ports.keys()].map((id) => this.closeSerial(id)));
  }

  #port(portId: unknown): { deviceId: string; relay: SerialRelay } {
    const port = this.#ports.get(num(portId, 'portId'));
    if (!port) throw new OpenStarryError(HalErrorCode.HANDLE_CLOSED, `no open serial port ${String(portId)}`);
    return port;
  }

  #device<K extends IDevice['kind']>(id: string, kind: K): Extract<IDevice, { kind: K }> {
    const entry = this.#o.registry.get(id);
    if (!entry) throw new OpenStarryError(HalErrorCode.DEVICE_NOT_FOUND, `no device "${id}"`);
    if (!entry.device) throw new OpenStarryError(HalErrorCode.DEVICE_FAILED, `device "${id}" is not working: ${entry.error ?? 'unknown error'}`);
    if (entry.device.kind !== kind) throw new OpenStarryError(HalErrorCode.DEVICE_NOT_FOUND, `device "${id}" is a ${entry.device.kind}, not a ${kind}`);
    return entry.device as Extract<IDevice, { kind: K }>;
  }

  #deny(call: string, target: string, needed: string): OpenStarryError {
    this.#o.onDenied();
    this.#denials += 1;
    // Every denial is counted; only the first few are logged, so a looping agent cannot fill the journal.
    if (this.#denials <= DENIALS_LOGGED) {
      this.#o.log.warn(`denied: agent ${this.#o.agentId} (pid ${this.#o.pid}) ${call}(${target}) without ${needed}`);
      if (this.#denials === DENIALS_LOGGED) this.#o.log.warn(`agent ${this.#o.agentId} (pid ${this.#o.pid}): further denials are counted, not logged`);
    }
    return new OpenStarryError(HalErrorCode.CAPABILITY_DENIED, `${call}(${target}) needs capability ${needed}, which agent ${this.#o.agentId} was not granted`);
  }
}

function str(v: unknown, name: string): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > 256) throw new OpenStarryError(ErrorCode.INVALID_PARAMS, `${name} must be a non-empty string`);
  return v;
}

function num(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new OpenStarryError(ErrorCode.INVALID_PARAMS, `${name} must be an integer`);
  return v;
}
