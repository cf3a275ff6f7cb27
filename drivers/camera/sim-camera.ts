/**
 * Sim camera: real JPEG frames (a committed ffmpeg testsrc sequence, sim-frames/frame-1..8.jpg, 160x120) at the
 * configured rate, with the lifecycle of the real stream source: the producer (a timer on the injected clock)
 * starts with the first subscriber and stops after the last one leaves.
 *
 * snapshot() needs no producer: the "current" frame is the one the clock says the sequence is at, the way a
 * real sensor always has an image in front of it.
 */
import { readFile } from 'node:fs/promises';
import { systemClock, type Clock } from '../../runtime/clock.ts';
import { DriverError, DriverErrorCode } from '../errors.ts';
import type { CameraFrame, ICameraSource } from './camera-source.ts';
import { FrameFanout, type FrameErrorListener, type FrameListener } from './frame-fanout.ts';

export const SIM_FRAME_COUNT = 8;

export interface SimCameraOptions {
  id: string;
  /** Frames per second, 0 < fps <= 60. Default 10. */
  fps?: number;
  clock?: Clock;
  /** JPEG frames to cycle through; default: the committed sim-frames fixtures. */
  frames?: readonly Buffer[];
}

/**
 * Where the fixture frames are: beside this module in a checkout (tsx, tap), and for a dist/ bundle either
 * copied beside it or found through the checkout it was built in.
 */
const FRAME_DIRS = [new URL('./sim-frames/', import.meta.url), new URL('../drivers/camera/sim-frames/', import.meta.url)];

export async function loadSimFrames(dirs: readonly URL[] = FRAME_DIRS): Promise<Buffer[]> {
  const failures: string[] = [];
  for (const dir of dirs) {
    try {
      return await Promise.all(
        Array.from({ length: SIM_FRAME_COUNT }, (_, i) => readFile(new URL(`frame-${i + 1}.jpg`, dir))),
      );
    } catch (err) {
      failures.push(`${dir.pathname}: ${(err as Error).message}`);
    }
  }
  throw new DriverError(DriverErrorCode.UNAVAILABLE, `sim camera frames not found (${failures.join('; ')})`);
}

/** Async factory (docs/ARCHITECTURE.md "Lifecycle"): loads the frames, then builds the camera. */
export async function createSimCamera(options: SimCameraOptions): Promise<SimCamera> {
  return new SimCamera({ ...options, frames: options.frames ?? (await loadSimFrames()) });
}

export class SimCamera implements ICameraSource {
  readonly id: string;
  readonly #frames: readonly Buffer[];
  readonly #periodMs: number;
  readonly #clock: Clock;
  readonly #fanout = new FrameFanout();
  #timer: unknown = null;
  #nextAt = 0;
  #cursor = 0;
  #seq = 0;
  #closed = false;

  constructor(options: SimCameraOptions & { frames: readonly Buffer[] }) {
    const fps = options.fps ?? 10;
    if (!(fps > 0 && fps <= 60)) throw new DriverError(DriverErrorCode.INVALID_ARGUMENT, `sim camera ${options.id}: fps ${fps} is not in (0, 60]`);
    if (options.frames.length === 0) throw new DriverError(DriverErrorCode.INVALID_ARGUMENT, `sim camera ${options.id}: no frames`);
    this.id = options.id;
    this.#frames = options.frames;
    this.#periodMs = 1000 / fps;
    this.#clock = options.clock ?? systemClock;
  }

  /** Test control: whether the frame timer is running. */
  get producing(): boolean {
    return this.#timer !== null;
  }

  async snapshot(): Promise<Buffer> {
    if (this.#closed) throw this.#closedError();
    const index = Math.floor(this.#clock.now() / this.#periodMs) % this.#frames.length;
    return ownCopy(this.#frames[index]!);
  }

  subscribe(listener: FrameListener, onError?: FrameErrorListener): () => void {
    if (this.#closed) throw this.#closedError();
    const remove = this.#fanout.add(listener, onError);
    if (this.#timer === null) {
      this.#nextAt = this.#clock.now() + this.#periodMs;
      this.#schedule();
    }
    return () => {
      if (remove() && this.#fanout.size === 0) this.#stop();
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stop();
    this.#fanout.fail(this.#closedError());
  }

  #schedule(): void {
    // Deadlines, not fixed delays: a late tick does not push every later frame back (no drift).
    const delay = Math.max(0, this.#nextAt - this.#clock.now());
    this.#timer = this.#clock.setTimeout(() => this.#tick(), delay);
  }

  #tick(): void {
    this.#timer = null;
    const frame: CameraFrame = {
      jpeg: ownCopy(this.#frames[this.#cursor++ % this.#frames.length]!),
      at: this.#clock.now(),
      seq: ++this.#seq,
    };
    this.#fanout.emit(frame);
    // A listener may have unsubscribed the last subscriber (or closed us) while handling the frame.
    if (this.#fanout.size > 0 && !this.#closed && this.#timer === null) {
      this.#nextAt += this.#periodMs;
      // After a stall (a busy event loop), skip the missed frames as a camera would rather than burst them.
      if (this.#nextAt < this.#clock.now()) this.#nextAt = this.#clock.now() + this.#periodMs;
      this.#schedule();
    }
  }

  #stop(): void {
    if (this.#timer === null) return;
    this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
  }

  #closedError(): DriverError {
    return new DriverError(DriverErrorCode.CLOSED, `camera ${this.id} is closed`);
  }
}

/**
 * Each consumer gets bytes of its own: the HAL may transfer a frame's ArrayBuffer to a worker, which detaches it,
 * and that must not break the fixture the next frame is copied from.
 */
function ownCopy(jpeg: Buffer): Buffer {
  const copy = Buffer.allocUnsafeSlow(jpeg.length);
  jpeg.copy(copy);
  return copy;
}
