/**
 * One JPEG from a V4L2 camera through node-webcam (fswebcam underneath). With device 'TEST', fswebcam uses its
 * built-in test source, so the real path runs on a machine without a camera (docs/ARCHITECTURE.md "Testing against real parts").
 *
 * Two things about node-webcam shape this wrapper:
 * - Its in-memory mode (location null) is unusable: it runs `fswebcam ... - -` through exec(), which decodes
 *   stdout as UTF-8, and then builds the buffer from *stderr* — the result is empty (checked with fswebcam
 *   20140113). So each shot goes to a file in a private temp dir, is read back (callbackReturn 'buffer'), and
 *   is removed.
 * - It builds a shell command line from the options. The device (from config) and the temp path are therefore
 *   checked against a conservative character set, so a device name can never smuggle in shell syntax.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { WebcamOptions } from 'node-webcam';
import { systemClock, type Clock } from '../../runtime/clock.ts';
import { DriverError, DriverErrorCode, isDriverError } from '../errors.ts';

/** The part of a node-webcam camera this wrapper uses. */
export interface WebcamLike {
  capture(location: string, callback: (err: Error | null, data: string | Buffer) => void): unknown;
}

export interface WebcamSnapshotOptions {
  id: string;
  /** V4L2 device path (/dev/video0), or 'TEST' for fswebcam's test source. */
  device: string;
  width?: number;
  height?: number;
  /** JPEG quality 0..95 (fswebcam's range). Default 85. */
  quality?: number;
  /** Gives up with ERR_DRIVER_TIMEOUT after this. Default 10000 ms (fswebcam's own capture timeout). */
  timeoutMs?: number;
  clock?: Clock;
  /** Builds the node-webcam camera; injected for tests. Default: node-webcam's fswebcam binding. */
  createWebcam?: (options: WebcamOptions) => WebcamLike | Promise<WebcamLike>;
  /** Parent of the private temp dir. Default os.tmpdir(). */
  tmpRoot?: string;
}

const SHELL_SAFE = /^[A-Za-z0-9_./:-]+$/;

const loadWebcam = async (options: WebcamOptions): Promise<WebcamLike> => {
  try {
    // fswebcam explicitly, not node-webcam's guess from os.platform(): V4L2 cameras on Linux boards are the target.
    const { FSWebcam } = (await import('node-webcam')).default;
    return new FSWebcam(options);
  } catch (err) {
    throw new DriverError(DriverErrorCode.UNAVAILABLE, `node-webcam cannot be loaded: ${(err as Error).message}`, { cause: err });
  }
};

export class WebcamSnapshot {
  readonly id: string;
  readonly #options: WebcamOptions;
  readonly #timeoutMs: number;
  readonly #clock: Clock;
  readonly #createWebcam: (options: WebcamOptions) => WebcamLike | Promise<WebcamLike>;
  readonly #tmpRoot: string;
  #webcam: Promise<WebcamLike> | null = null;
  #dir: Promise<string> | null = null;
  /** One capture at a time: a V4L2 device is exclusive, so concurrent callers share the shot in flight. */
  #inFlight: Promise<Buffer> | null = null;
  #shots = 0;
  #closing: Promise<void> | null = null;

  constructor(options: WebcamSnapshotOptions) {
    this.id = options.id;
    const width = options.width ?? 640;
    const height = options.height ?? 480;
    const quality = options.quality ?? 85;
    const bad = (what: string): never => {
      throw new DriverError(DriverErrorCode.INVALID_ARGUMENT, `camera ${options.id}: ${what}`);
    };
    if (!SHELL_SAFE.test(options.device)) bad(`device ${JSON.stringify(options.device)} has characters outside [A-Za-z0-9_./:-]`);
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || width > 8192 || height > 8192) {
      bad(`resolution ${width}x${height} is not within 1..8192`);
    }
    if (!Number.isInteger(quality) || quality < 0 || quality > 95) bad(`quality ${quality} is not within 0..95`);
    this.#tmpRoot = options.tmpRoot ?? os.tmpdir();
    if (!SHELL_SAFE.test(this.#tmpRoot)) bad(`temp dir ${JSON.stringify(this.#tmpRoot)} has characters outside [A-Za-z0-9_./:-]`);
    this.#options = {
      device: options.device,
      width,
      height,
      quality,
      output: 'jpeg',
      callbackReturn: 'buffer',
      topBanner: false,
      bottomBanner: false,
      // node-webcam keeps every shot in memory by default; a daemon taking snapshots for weeks must not.
      saveShots: false,
      verbose: false,
    };
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#clock = options.clock ?? systemClock;
    this.#createWebcam = options.createWebcam ?? loadWebcam;
  }

  snapshot(): Promise<Buffer> {
    if (this.#closing) return Promise.reject(new DriverError(DriverErrorCode.CLOSED, `camera ${this.id} is closed`));
    this.#inFlight ??= this.#capture().finally(() => (this.#inFlight = null));
    return this.#inFlight;
  }

  /** Waits for a capture in flight, then removes the temp dir. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#inFlight?.catch(() => undefined);
      const dir = await this.#dir?.catch(() => null);
      if (dir) await rm(dir, { recursive: true, force: true });
    })();
    return this.#closing;
  }

  async #capture(): Promise<Buffer> {
    this.#webcam ??= Promise.resolve(this.#createWebcam(this.#options)).catch((err: unknown) => {
      this.#webcam = null;
      throw err;
    });
    const webcam = await this.#webcam;
    this.#dir ??= mkdtemp(path.join(this.#tmpRoot, 'os-cam-'));
    const file = path.join(await this.#dir, `shot-${++this.#shots}.jpg`);
    try {
      const data = await this.#withTimeout(
        new Promise<Buffer>((resolve, reject) => {
          webcam.capture(file, (err, out) => (err ? reject(err) : resolve(Buffer.isBuffer(out) ? out : Buffer.from(out))));
        }),
      );
      // fswebcam exits 0 and writes nothing useful for some failures; never hand on something that is not a JPEG.
      if (!isCompleteJpeg(data)) {
        throw new DriverError(DriverErrorCode.BAD_DEVICE, `camera ${this.id}: fswebcam returned ${data.length} bytes that are not a complete JPEG`);
      }
      return data;
    } catch (err) {
      throw this.#wrap(err);
    } finally {
      await rm(file, { force: true });
    }
  }

  #withTimeout<T>(work: Promise<T>): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = this.#clock.setTimeout(
        () => reject(new DriverError(DriverErrorCode.TIMEOUT, `camera ${this.id}: no snapshot within ${this.#timeoutMs} ms`)),
        this.#timeoutMs,
      );
      work.then(
        (value) => {
          this.#clock.clearTimeout(timer);
          resolve(value);
        },
        (err: unknown) => {
          this.#clock.clearTimeout(timer);
          reject(err);
        },
      );
    });
  }

  #wrap(err: unknown): DriverError {
    if (isDriverError(err)) return err;
    const e = err as Error & { code?: unknown };
    const message = e?.message ?? String(err);
    // exec() reports the shell's 127 when fswebcam itself is missing.
    if (e?.code === 127 || /fswebcam: not found/.test(message)) {
      return new DriverError(DriverErrorCode.UNAVAILABLE, `camera ${this.id}: fswebcam is not installed (apt-get install fswebcam)`, { cause: err });
    }
    if (e?.code === 'ENOENT') {
      // The callback's readFile found no file: fswebcam "succeeded" without writing one.
      return new DriverError(DriverErrorCode.IO, `camera ${this.id}: fswebcam wrote no image`, { cause: err });
    }
    // node-webcam's own check of fswebcam's output ("No webcam found"), or fswebcam's stat/open messages.
    if (/no webcam found|no such file|no such device|cannot open|permission denied|busy/i.test(message)) {
      return new DriverError(DriverErrorCode.OPEN_FAILED, `camera ${this.id}: cannot open ${this.#options.device || 'the camera'}: ${message}`, { cause: err });
    }
    return new DriverError(DriverErrorCode.IO, `camera ${this.id}: snapshot failed: ${message}`, { cause: err });
  }
}

/** SOI at the start and EOI at the end: what every consumer of a camera frame relies on. */
export function isCompleteJpeg(data: Buffer): boolean {
  return data.length >= 4 && data[0] === 0xff && data[1] === 0xd8 && data[data.length - 2] === 0xff && data[data.length - 1] === 0xd9;
}
