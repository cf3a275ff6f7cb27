/**
 * One agent's camera stream, daemon side: keeps only the newest frame and answers the agent's pull requests with
 * it (README "What it is": a slow consumer gets the latest frames and bounded memory, never an unbounded queue). The
 * frame is copied once out of the driver's buffer into its own ArrayBuffer, which the channel then transfers.
 */
import type { CameraFrame, ICameraSource } from '../drivers/camera/camera-source.ts';
import type { Clock } from '../runtime/clock.ts';
import { systemClock } from '../runtime/clock.ts';
import { DriverError, DriverErrorCode } from '../drivers/errors.ts';
import { OpenStarryError } from '../runtime/core/errors.ts';
import { HalErrorCode } from './errors.ts';

export interface RelayedFrame {
  seq: number;
  jpeg: ArrayBuffer;
}

export class CameraRelay {
  readonly #unsubscribe: () => void;
  #latest: CameraFrame | undefined;
  #waiters: { after: number; resolve: (f: CameraFrame) => void; reject: (e: Error) => void }[] = [];
  #failure: Error | undefined;
  #closed = false;
  /** Frames the agent never asked for because a newer one replaced them. */
  skipped = 0;
  #lastSent = -1;
  readonly #clock: Clock;

  /** `clock`: the one the wait for a frame (next()'s timeoutMs) runs on. */
  constructor(source: ICameraSource, clock: Clock = systemClock) {
    this.#clock = clock;
    this.#unsubscribe = source.subscribe(
      (frame) => {
        this.#latest = frame;
        for (const w of this.#waiters.splice(0)) {
          if (frame.seq > w.after) w.resolve(frame);
          else this.#waiters.push(w);
        }
      },
      (err) => {
        this.#failure = err;
        for (const w of this.#waiters.splice(0)) w.reject(err);
      },
    );
  }

  /** The newest frame after `after`, waiting up to `timeoutMs` for one. */
  async next(after: number, timeoutMs: number): Promise<RelayedFrame> {
    if (this.#closed) throw new OpenStarryError(HalErrorCode.HANDLE_CLOSED, 'camera stream is closed');
    if (this.#failure) throw this.#failure;
    const latest = this.#latest;
    const frame =
      latest && latest.seq > after
        ? latest
        : await new Promise<CameraFrame>((resolve, reject) => {
            const waiter = { after, resolve, reject };
            const timer = this.#clock.setTimeout(() => {
              this.#waiters = this.#waiters.filter((w) => w !== waiter);
              reject(new DriverError(DriverErrorCode.TIMEOUT, `no camera frame within ${timeoutMs} ms`));
            }, timeoutMs);
            waiter.resolve = (f) => {
              this.#clock.clearTimeout(timer);
              resolve(f);
            };
            waiter.reject = (e) => {
              this.#clock.clearTimeout(timer);
              reject(e);
            };
            this.#waiters.push(waiter);
          });
    if (this.#lastSent >= 0) this.skipped += Math.max(0, frame.seq - this.#lastSent - 1);
    this.#lastSent = frame.seq;
    const { jpeg } = frame;
    return { seq: frame.seq, jpeg: jpeg.buffer.slice(jpeg.byteOffset, jpeg.byteOffset + jpeg.byteLength) as ArrayBuffer };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe();
    const err = new OpenStarryError(HalErrorCode.HANDLE_CLOSED, 'camera stream closed');
    for (const w of this.#waiters.splice(0)) w.reject(err);
  }
}
