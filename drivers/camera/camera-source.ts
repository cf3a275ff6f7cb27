/**
 * Camera contract (interface only). Real bindings: node-webcam for snapshots (fswebcam underneath) and an MJPEG
 * stream read from a configurable command's stdout (ffmpeg by default; rpicam-vid on a Pi) split into frames on
 * JPEG SOI/EOI markers. The sim binding produces real JPEG frames at the configured rate.
 */
export interface CameraFrame {
  /** One complete JPEG image (SOI ... EOI). */
  jpeg: Buffer;
  /** Monotonic milliseconds when the frame was complete. */
  at: number;
  /** Increments per frame produced, so a consumer can count what it skipped. */
  seq: number;
}

export interface ICameraSource {
  readonly id: string;
  /** One JPEG image. Rejects with ERR_DRIVER_TIMEOUT if none arrives in time. */
  snapshot(): Promise<Buffer>;
  /**
   * Subscribes to the live stream (started on the first subscriber, stopped after the last leaves).
   * Frames are pushed to the listener; a slow listener is the caller's to handle (the HAL keeps only the latest).
   */
  subscribe(listener: (frame: CameraFrame) => void, onError?: (err: Error) => void): () => void;
  /** Stops the stream process and fails later calls with ERR_DRIVER_CLOSED. Idempotent. */
  close(): Promise<void>;
}
