/**
 * Splits an MJPEG byte stream (ffmpeg -f mjpeg, rpicam-vid --codec mjpeg: JPEG images back to back, chunk
 * boundaries anywhere) into complete JPEG frames.
 *
 * Approach: parse marker segments (ITU-T T.81 Annex B) instead of searching for FF D9 or counting SOI depth.
 * - B.1.1.4: every marker segment other than SOI, EOI, RSTn and TEM carries a 2-byte length, so its payload
 *   is skipped unseen. An EXIF thumbnail lives inside APP1's payload, so its own FF D8 ... FF D9 is skipped
 *   with it. Counting SOI depth would also handle the thumbnail, but would be fooled by any FF D8 / FF D9 byte
 *   pair inside other payloads (ICC profiles, maker notes, COM text), which are not byte-stuffed.
 * - B.1.1.5 / F.1.2.3: inside entropy-coded data after SOS, a data byte FF is stuffed as FF 00 and RSTn markers
 *   may appear; any other marker ends the scan (EOI, or DHT/SOS/DNL between the scans of a progressive image).
 * - B.1.1.2: any marker may be preceded by fill bytes FF.
 *
 * Robustness: bytes before an SOI are skipped without being kept; a frame that grows past maxFrameBytes is
 * dropped (counted in stats.oversized) and the splitter hunts for the next SOI; a marker that cannot be there
 * (a non-FF byte where a marker must start, a length below 2, an SOI inside a frame) drops the partial frame as
 * corrupt — an SOI found that way starts the next frame, so a restarted encoder resynchronises at once.
 * Memory: at most maxFrameBytes of the frame being assembled, plus references to the chunks holding it.
 */

export interface JpegSplitterOptions {
  /** Frames larger than this are dropped. Default 8 MiB (a 4K MJPEG frame at high quality is ~2 MiB). */
  maxFrameBytes?: number;
}

export interface JpegSplitterStats {
  frames: number;
  oversized: number;
  corrupt: number;
  /** Bytes outside any frame (garbage before an SOI, or the remains of a dropped frame). */
  skippedBytes: number;
}

const enum State {
  /** Outside a frame, looking for FF D8. */
  Hunt,
  /** Inside a frame, expecting the FF that starts the next marker. */
  Marker,
  /** Saw FF (possibly several: fill bytes), expecting the marker code. */
  MarkerCode,
  LengthHigh,
  LengthLow,
  /** Skipping a segment payload. */
  Payload,
  /** Inside entropy-coded data after SOS. */
  Entropy,
  /** Saw FF inside entropy-coded data. */
  EntropyFF,
}

const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;
const TEM = 0x01;
const isRst = (code: number): boolean => code >= 0xd0 && code <= 0xd7;

export class JpegSplitter {
  readonly stats: JpegSplitterStats = { frames: 0, oversized: 0, corrupt: 0, skippedBytes: 0 };
  readonly #onFrame: (jpeg: Buffer) => void;
  readonly #max: number;

  #state = State.Hunt;
  /** Hunt: the previous chunk ended with FF (an SOI may straddle the boundary). */
  #huntFF = false;
  #marker = 0;
  #remaining = 0;
  /** Parts of the frame from earlier chunks; the current chunk's part is added when the frame ends. */
  #parts: Buffer[] = [];
  #size = 0;

  constructor(onFrame: (jpeg: Buffer) => void, options: JpegSplitterOptions = {}) {
    this.#onFrame = onFrame;
    this.#max = options.maxFrameBytes ?? 8 * 1024 * 1024;
  }

  /** Feeds the next chunk. onFrame runs synchronously for each frame completed in it. */
  push(chunk: Buffer): void {
    const n = chunk.length;
    /** Where the frame being assembled starts in this chunk (0 if it began in an earlier one), or -1. */
    let start = this.#state === State.Hunt ? -1 : 0;
    let i = 0;

    const drop = (reason: 'oversized' | 'corrupt', at: number): void => {
      this.stats[reason]++;
      this.stats.skippedBytes += this.#size + (start >= 0 ? at - start : 0);
      this.#parts = [];
      this.#size = 0;
      this.#state = State.Hunt;
      this.#huntFF = false;
      start = -1;
    };
    const beginFrame = (soiAt: number): void => {
      // soiAt is the index of D8 in this chunk; the frame starts at its FF, which may be in the previous chunk.
      if (soiAt === 0) {
        this.#parts = [Buffer.from([0xff])];
        this.#size = 1;
        start = 0;
      } else {
        this.#parts = [];
        this.#size = 0;
        start = soiAt - 1;
      }
      this.#state = State.Marker;
    };

    while (i < n) {
      // Checked before each step; a step consumes at most the rest of one chunk, so memory stays bounded.
      if (start >= 0 && this.#size + i - start >= this.#max) {
        drop('oversized', i);
        continue;
      }
      switch (this.#state) {
        case State.Hunt: {
          if (this.#huntFF) {
            // The previous chunk ended with FF (already counted as skipped); only a chunk's first byte gets here.
            this.#huntFF = false;
            if (chunk[i] === SOI) {
              this.stats.skippedBytes--;
              beginFrame(i);
              i++;
              break;
            }
          }
          const ff = chunk.indexOf(0xff, i);
          if (ff < 0 || ff === n - 1) {
            // No SOI starts in the rest of this chunk; remember a trailing FF for the next one.
            this.#huntFF = ff === n - 1;
            this.stats.skippedBytes += n - i;
            i = n;
          } else if (chunk[ff + 1] === SOI) {
            this.stats.skippedBytes += ff - i;
            beginFrame(ff + 1);
            i = ff + 2;
          } else {
            this.stats.skippedBytes += ff + 1 - i;
            i = ff + 1;
          }
          break;
        }
        case State.Marker:
          if (chunk[i] !== 0xff) {
            drop('corrupt', i);
            break;
          }
          this.#state = State.MarkerCode;
          i++;
          break;
        case State.MarkerCode: {
          const code = chunk[i]!;
          if (code === 0xff) {
            i++; // fill byte
          } else if (code === EOI) {
            i = this.#endFrame(chunk, start, i + 1);
            start = -1;
          } else if (code === SOI) {
            drop('corrupt', i - 1);
            beginFrame(i);
            i++;
          } else if (code === TEM || isRst(code) || code === 0x00) {
            // Standalone markers carry no length. FF 00 outside a scan is invalid; drop.
            if (code === 0x00) drop('corrupt', i);
            else this.#state = State.Marker;
            i++;
          } else {
            this.#marker = code;
            this.#state = State.LengthHigh;
            i++;
          }
          break;
        }
        case State.LengthHigh:
          this.#remaining = chunk[i]! << 8;
          this.#state = State.LengthLow;
          i++;
          break;
        case State.LengthLow: {
          const length = this.#remaining | chunk[i]!;
          i++;
          if (length < 2) {
            drop('corrupt', i);
            break;
          }
          this.#remaining = length - 2;
          this.#state = State.Payload;
          break;
        }
        case State.Payload: {
          const take = Math.min(this.#remaining, n - i);
          this.#remaining -= take;
          i += take;
          if (this.#remaining === 0) this.#state = this.#marker === SOS ? State.Entropy : State.Marker;
          break;
        }
        case State.Entropy: {
          const ff = chunk.indexOf(0xff, i);
          if (ff < 0) {
            i = n;
          } else {
            this.#state = State.EntropyFF;
            i = ff + 1;
          }
          break;
        }
        case State.EntropyFF: {
          const code = chunk[i]!;
          if (code === 0x00 || isRst(code)) {
            this.#state = State.Entropy; // stuffed FF, or a restart marker inside the scan
            i++;
          } else if (code === 0xff) {
            i++; // fill byte before a marker
          } else if (code === EOI) {
            i = this.#endFrame(chunk, start, i + 1);
            start = -1;
          } else if (code === SOI) {
            drop('corrupt', i - 1);
            beginFrame(i);
            i++;
          } else {
            // A marker segment between scans (progressive JPEG: DHT, SOS; or DNL).
            this.#marker = code;
            this.#state = State.LengthHigh;
            i++;
          }
          break;
        }
      }
    }

    if (start >= 0 && this.#state !== State.Hunt) {
      this.#parts.push(chunk.subarray(start));
      this.#size += n - start;
    }
  }

  /** Forgets a partially assembled frame (e.g. the producer restarted); the stats are kept. */
  reset(): void {
    this.stats.skippedBytes += this.#size;
    this.#parts = [];
    this.#size = 0;
    this.#state = State.Hunt;
    this.#huntFF = false;
  }

  /** Emits the frame ending just before `end` in `chunk`; returns where scanning continues. */
  #endFrame(chunk: Buffer, start: number, end: number): number {
    const parts = this.#parts;
    if (start >= 0) parts.push(chunk.subarray(start, end));
    // Copied into a buffer of its own, never a slice of Node's shared pool (which Buffer.concat uses for small
    // results): the HAL may transfer frame.buffer to a worker, and that must not detach anyone else's bytes.
    const frame = Buffer.allocUnsafeSlow(parts.reduce((sum, p) => sum + p.length, 0));
    let at = 0;
    for (const part of parts) at += part.copy(frame, at);
    this.#parts = [];
    this.#size = 0;
    this.#state = State.Hunt;
    this.#huntFF = false;
    this.stats.frames++;
    this.#onFrame(frame);
    return end;
  }
}
