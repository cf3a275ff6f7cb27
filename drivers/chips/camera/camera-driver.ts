/**
 * The `camera` entry of the driver table: a thin device around the bus provider's camera source (an MJPEG stream
 * command or node-webcam snapshots on a board, generated JPEG frames on the sim board). The device only adds
 * the bookkeeping `openstarry devices` shows: frames seen, whether a stream is running, the last error.
 */
import * as z from 'zod/mini';
import '../../../runtime/zod-messages.ts';
import type { Clock } from '../../../runtime/clock.ts';
import type { CameraFrame, ICameraSource } from '../../camera/camera-source.ts';
import type { BusProvider, DeviceDriverDefinition, DeviceStatus, ICameraDevice, IDevice } from '../../device.ts';
import { DeviceStatusTracker } from '../device-status.ts';
import { chipDriverContext, type ChipDriverOptions } from '../driver-context.ts';

export const cameraConfigSchema = z.strictObject({
  /** A V4L2 node (/dev/video0), 'sim' (the sim board's generated frames) or 'TEST' (fswebcam's test source). */
  device: z._default(z.string().check(z.regex(/^(\/dev\/\S+|sim|TEST)$/, 'must be a /dev path, "sim" or "TEST"')), '/dev/video0'),
  width: z._default(z.int().check(z.gte(16), z.lte(4096)), 640),
  height: z._default(z.int().check(z.gte(16), z.lte(4096)), 480),
  fps: z._default(z.int().check(z.gte(1), z.lte(120)), 10),
  /** The MJPEG stream command (argv), e.g. ["rpicam-vid", "-t", "0", "--codec", "mjpeg", "-o", "-"]. */
  streamCommand: z.optional(z.array(z.string().check(z.minLength(1))).check(z.minLength(1))),
});

export type CameraConfig = z.output<typeof cameraConfigSchema>;

/** Passes everything through to the bus's source, counting what goes by. */
class ObservedCameraSource implements ICameraSource {
  readonly id: string;
  readonly #inner: ICameraSource;
  readonly #status: DeviceStatusTracker;
  #frames = 0;
  #subscribers = 0;

  constructor(inner: ICameraSource, status: DeviceStatusTracker) {
    this.id = inner.id;
    this.#inner = inner;
    this.#status = status;
  }

  get summary(): { frames: number; streaming: boolean } {
    return { frames: this.#frames, streaming: this.#subscribers > 0 };
  }

  async snapshot(): Promise<Buffer> {
    try {
      const jpeg = await this.#inner.snapshot();
      this.#frames++;
      this.#status.ok(this.summary);
      return jpeg;
    } catch (err) {
      this.#status.fail(err);
      throw err;
    }
  }

  subscribe(listener: (frame: CameraFrame) => void, onError?: (err: Error) => void): () => void {
    let subscribed = true;
    this.#subscribers++;
    const unsubscribe = this.#inner.subscribe(
      (frame) => {
        this.#frames++;
        this.#status.ok(this.summary);
        listener(frame);
      },
      (err) => {
        this.#status.fail(err);
        onError?.(err);
      },
    );
    return () => {
      if (!subscribed) return;
      subscribed = false;
      this.#subscribers--;
      unsubscribe();
    };
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}

export class CameraDevice implements ICameraDevice {
  readonly kind = 'camera' as const;
  readonly driver = 'camera';
  readonly id: string;
  readonly source: ICameraSource;
  readonly #observed: ObservedCameraSource;
  readonly #status: DeviceStatusTracker;
  #closing: Promise<void> | undefined;

  constructor(id: string, source: ICameraSource, clock: Clock) {
    this.id = id;
    this.#status = new DeviceStatusTracker(clock);
    this.#observed = new ObservedCameraSource(source, this.#status);
    this.source = this.#observed;
  }

  status(): DeviceStatus {
    return { ...this.#status.snapshot(), value: this.#observed.summary };
  }

  /** Stops the stream process (the source's close). Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#observed.close();
    return this.#closing;
  }
}

export function createCameraDriver(options: ChipDriverOptions = {}): DeviceDriverDefinition<CameraConfig> {
  const context = chipDriverContext(options);
  return {
    name: 'camera',
    kind: 'camera',
    configSchema: cameraConfigSchema,
    async create(id: string, config: CameraConfig, buses: BusProvider): Promise<IDevice> {
      const source = buses.camera({
        id,
        device: config.device,
        width: config.width,
        height: config.height,
        fps: config.fps,
        ...(config.streamCommand === undefined ? {} : { streamCommand: config.streamCommand }),
      });
      return new CameraDevice(id, source, context.clock);
    },
    // simulate(): nothing to attach — on the sim board BusProvider.camera() already yields generated frames.
  };
}

export const cameraDriver = createCameraDriver();
