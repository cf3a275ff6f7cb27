/**
 * The real camera: one ICameraSource composed of the two real paths.
 * - stream: MjpegCommandSource (ffmpeg from V4L2 by default, any MJPEG-to-stdout command by config);
 * - snapshot: node-webcam (fswebcam) while no stream is running — no encoder process to start for one image,
 *   and fswebcam skips the dark first frames a freshly opened sensor gives; while a stream IS running the
 *   device is busy (V4L2 is exclusive), so the snapshot is the stream's next frame instead.
 *
 * Composition rather than one class: each half is a small unit with its own tests and fakes (spawn, node-webcam),
 * and a board whose camera needs another snapshot tool can swap that half alone.
 */
import type { Clock } from '../../runtime/clock.ts';
import type { ICameraSource } from './camera-source.ts';
import type { FrameErrorListener, FrameListener } from './frame-fanout.ts';
import { MjpegCommandSource, type SpawnFn } from './mjpeg-command-source.ts';
import { WebcamSnapshot, type WebcamLike } from './webcam-snapshot.ts';
import type { WebcamOptions } from 'node-webcam';
import { DriverError, DriverErrorCode } from '../errors.ts';

export interface RealCameraOptions {
  id: string;
  /** V4L2 device (/dev/video0); 'TEST' selects fswebcam's test source for snapshots. */
  device: string;
  width?: number;
  height?: number;
  fps?: number;
  /** argv of the stream command; default: ffmpeg reading MJPEG from `device` (defaultStreamCommand). */
  streamCommand?: readonly string[];
  spawn?: SpawnFn;
  createWebcam?: (options: WebcamOptions) => WebcamLike | Promise<WebcamLike>;
  clock?: Clock;
  snapshotTimeoutMs?: number;
  killTimeoutMs?: number;
}

export class RealCamera implements ICameraSource {
  readonly id: string;
  /** The stream half (exposed for diagnostics: pid, stats, idle()). */
  readonly stream: MjpegCommandSource;
  readonly #webcam: WebcamSnapshot;
  #closing: Promise<void> | null = null;

  constructor(options: RealCameraOptions) {
    this.id = options.id;
    const { width, height, fps, clock } = options;
    this.stream = new MjpegCommandSource({
      id: options.id,
      device: options.device,
      width,
      height,
      fps,
      command: options.streamCommand,
      spawn: options.spawn,
      clock,
      snapshotTimeoutMs: options.snapshotTimeoutMs,
      killTimeoutMs: options.killTimeoutMs,
    });
    this.#webcam = new WebcamSnapshot({
      id: options.id,
      device: options.device,
      width,
      height,
      clock,
      timeoutMs: options.snapshotTimeoutMs,
      createWebcam: options.createWebcam,
    });
  }

  snapshot(): Promise<Buffer> {
    if (this.#closing) return Promise.reject(new DriverError(DriverErrorCode.CLOSED, `camera ${this.id} is closed`));
    return this.stream.streaming ? this.stream.snapshot() : this.#webcam.snapshot();
  }

  subscribe(listener: FrameListener, onError?: FrameErrorListener): () => void {
    return this.stream.subscribe(listener, onError);
  }

  close(): Promise<void> {
    this.#closing ??= Promise.all([this.stream.close(), this.#webcam.close()]).then(() => undefined);
    return this.#closing;
  }
}
