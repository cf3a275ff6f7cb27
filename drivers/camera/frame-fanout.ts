/**
 * The subscriber list behind ICameraSource.subscribe, shared by the sim and the real sources so both deliver
 * and fail the same way.
 */
import type { CameraFrame } from './camera-source.ts';

export type FrameListener = (frame: CameraFrame) => void;
export type FrameErrorListener = (err: Error) => void;

interface Subscriber {
  listener: FrameListener;
  onError: FrameErrorListener | undefined;
}

export class FrameFanout {
  readonly #subscribers = new Set<Subscriber>();

  get size(): number {
    return this.#subscribers.size;
  }

  /** Adds a subscriber; the returned function removes it and reports whether it was still there. */
  add(listener: FrameListener, onError?: FrameErrorListener): () => boolean {
    const subscriber: Subscriber = { listener, onError };
    this.#subscribers.add(subscriber);
    return () => this.#subscribers.delete(subscriber);
  }

  /**
   * Delivers a frame to every subscriber. A listener that throws does not starve the others nor stop the
   * producer; its error goes to its own onError (a listener without one has chosen not to hear about it).
   */
  emit(frame: CameraFrame): void {
    for (const subscriber of [...this.#subscribers]) {
      try {
        subscriber.listener(frame);
      } catch (err) {
        subscriber.onError?.(err instanceof Error ? err : new Error(String(err)));
      }
    }
  }

  /** The stream is over for everyone: removes every subscriber and tells each one why. */
  fail(err: Error): void {
    const subscribers = [...this.#subscribers];
    this.#subscribers.clear();
    for (const subscriber of subscribers) {
      try {
        subscriber.onError?.(err);
      } catch {
        // One failing error handler must not keep the rest from hearing about the failure.
      }
    }
  }
}
