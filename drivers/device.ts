/**
 * What a device driver gives the HAL (interface only). A device driver (bme280, relay, pir, gps-nmea, camera,
 * serial...) is written once against the bus contracts and runs unchanged on real and sim buses.
 *
 * The HAL never talks to buses directly: it builds devices from the board profile + the config's `devices[]`
 * through DeviceDriverDefinition.create(), checks capabilities and safety envelopes, and calls these methods.
 */
import type { Duplex } from 'node:stream';
import type * as z from 'zod/mini';
import type { ICameraSource } from './camera/camera-source.ts';
import type { IGpioBus } from './gpio/gpio-bus.ts';
import type { II2cBus } from './i2c/i2c-bus.ts';
import type { ISerialBinding } from './serial/serial-port.ts';
import type { ISimWorld } from './sim-world.ts';

export type DeviceKind = 'sensor' | 'actuator' | 'input' | 'camera' | 'serial';

/** What `openstarry devices` shows besides id/kind/driver/owner. */
export interface DeviceStatus {
  /** Last value or state: a reading map for sensors ({ temperature: 21.4 }), 'on'/'off' for a relay, 0/1 for an input. */
  value?: unknown;
  /** ISO time of the last successful read or command. */
  updatedAt?: string;
  /** The last error, if the device is failing. */
  error?: string;
}

interface DeviceBase {
  readonly id: string;
  readonly driver: string;
  status(): DeviceStatus;
  /** Releases the bus resources (lines, ports, stream processes). Idempotent. */
  close(): Promise<void>;
}

export interface ISensorDevice extends DeviceBase {
  readonly kind: 'sensor';
  /** The quantities it measures, e.g. ['temperature', 'humidity', 'pressure'] (units: °C, %RH, hPa, degrees, m). */
  readonly quantities: readonly string[];
  /** One fresh reading of one quantity. Rejects with a DriverError on bus failure. */
  read(quantity: string): Promise<number>;
}

export type ActuatorCommand = string | number | boolean;

/** The safety envelope an actuator driver declares (docs/ARCHITECTURE.md "HAL and devices"): which commands, or which value range. */
export interface ActuatorEnvelope {
  commands?: readonly string[];
  range?: { min: number; max: number };
}

export interface IActuatorDevice extends DeviceBase {
  readonly kind: 'actuator';
  readonly envelope: ActuatorEnvelope;
  /** The command that makes it safe (relay: 'off'); applied when its owner ends and at daemon start/stop. */
  readonly safeState: ActuatorCommand;
  /** Applies a command already checked against the envelope. */
  apply(command: ActuatorCommand): Promise<void>;
}

export interface InputEdge {
  edge: 'rising' | 'falling';
  value: 0 | 1;
  /** Monotonic ms. */
  at: number;
}

export interface IInputDevice extends DeviceBase {
  readonly kind: 'input';
  read(): Promise<0 | 1>;
  /** Debounced edges, until the returned function is called. */
  watch(listener: (edge: InputEdge) => void): () => void;
}

export interface ICameraDevice extends DeviceBase {
  readonly kind: 'camera';
  readonly source: ICameraSource;
}

export interface ISerialDevice extends DeviceBase {
  readonly kind: 'serial';
  /** A byte stream to the device; one opener at a time (the HAL enforces ownership). */
  open(): Promise<Duplex>;
}

export type IDevice = ISensorDevice | IActuatorDevice | IInputDevice | ICameraDevice | ISerialDevice;

/**
 * The buses a device is built on, already resolved for the board: real bindings on a board, sim bindings on `sim`.
 * Pins are header pin numbers or SoC line names as the board profile knows them; the provider turns them into
 * sysfs line numbers (gpiochip base + offset) and bus names into numbers/paths.
 */
export interface BusProvider {
  readonly board: string;
  gpio(): IGpioBus;
  resolvePin(pin: number | string): number;
  i2c(bus: number | string): Promise<II2cBus>;
  serial(): ISerialBinding;
  resolveSerialPort(port: string): string;
  camera(options: CameraOptions): ICameraSource;
}

export interface CameraOptions {
  id: string;
  /** e.g. /dev/video0, or 'TEST' for fswebcam's built-in test source. */
  device: string;
  width: number;
  height: number;
  fps: number;
  /** The MJPEG stream command (argv); default ffmpeg reading `device` with v4l2. */
  streamCommand?: readonly string[];
}

/** One entry of the driver table: validates its part of a `devices[]` entry and builds the device. */
export interface DeviceDriverDefinition<C extends Record<string, unknown> = Record<string, unknown>> {
  readonly name: string;
  readonly kind: DeviceKind;
  /** Driver-specific config (address, pin, port...); the HAL validates `id`, `driver`, `safeState`, `rateLimit`. */
  readonly configSchema: z.ZodMiniType<C>;
  create(id: string, config: C, buses: BusProvider): Promise<IDevice>;
  /** On the sim board: attach the simulated peripheral this driver talks to, before create() runs. */
  simulate?(id: string, config: C, world: ISimWorld, buses: BusProvider): void;
}
