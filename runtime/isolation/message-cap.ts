/**
 * The size cap of every isolate channel (issue 13, finding 2): one message an agent sends the daemon — a log
 * note, an `events.publish`, a HAL call — may be at most `agents.maxMessageBytes` (default 1 MiB). An agent that
 * sends more is stopped with the reason `message-too-large: <n> bytes > <cap>`, a crash like any other (its
 * restart policy applies), and counted in `openstarry status` (`channels.refused`).
 *
 * Where each driver measures (the cap must hold before the daemon buffers the message whole):
 *   process, docker  the frame prefix carries the length (frame-codec.ts): refused before a byte of the body is
 *                    kept, then the child / container is killed.
 *   worker, wasm     postMessage hands the daemon a structured clone, already deserialised: the sender inside the
 *                    isolate (our host code, host/capped-port.ts; the wasm host function) measures first and ends
 *                    the isolate instead of sending; the daemon measures again on receipt (messageSizeOver) and
 *                    kills the isolate, for code that got past the sandbox.
 * Pure (no node:*): runs in the daemon and inside isolates.
 */
import { ErrorCode } from '../core/errors.ts';
import type { WireError } from '../core/errors.ts';

export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;
export const MESSAGE_TOO_LARGE_CODE = ErrorCode.MESSAGE_TOO_LARGE;
/** The note an isolate's host sends, instead of an oversized message, just before it ends itself. */
export const TOO_LARGE_NOTE = 'host.message-too-large';

export function tooLargeReason(bytes: number, cap: number): string {
  return `message-too-large: ${bytes} bytes > ${cap}`;
}

export function tooLargeError(bytes: number, cap: number): WireError {
  return { code: MESSAGE_TOO_LARGE_CODE, message: tooLargeReason(bytes, cap) };
}

/** The `host.message-too-large` note's params from an untrusted isolate: the size it refused, or undefined. */
export function tooLargeBytes(params: unknown): number | undefined {
  const bytes = (params as { bytes?: unknown } | null)?.bytes;
  return typeof bytes === 'number' && Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined;
}

/**
 * The size of `value` as it would travel (strings by their length, buffers by their bytes, 8 per number, keys
 * included), counted only until it passes `cap`: returns that running size once over the cap, else undefined.
 * The walk stops early, so measuring a 200 MB message costs no more than measuring `cap` bytes of it, and it
 * uses its own stack (no recursion: a message nested 100k deep cannot overflow it). A lower bound for a
 * structured clone or JSON (UTF-16 and escapes make those larger), which is what a cap needs.
 */
export function messageSizeOver(value: unknown, cap: number): number | undefined {
  let size = 0;
  const stack: unknown[] = [value];
  const seen = new Set<object>();
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') size += v.length + 2;
    else if (typeof v !== 'object' || v === null) size += 8;
    else if (v instanceof ArrayBuffer || ArrayBuffer.isView(v)) size += v.byteLength;
    else if (!seen.has(v)) {
      seen.add(v);
      // One byte per element as it is pushed, so a huge array or object is cut off here, not stacked whole.
      const push = (x: unknown, extra: number): boolean => {
        stack.push(x);
        size += 1 + extra;
        return size > cap;
      };
      if (v instanceof Map) {
        for (const [k, x] of v) if (push(k, 0) || push(x, 0)) break;
      } else if (v instanceof Set) {
        for (const x of v) if (push(x, 0)) break;
      } else if (Array.isArray(v)) {
        for (const x of v) if (push(x, 0)) break;
      } else {
        for (const k in v) if (Object.hasOwn(v, k) && push((v as Record<string, unknown>)[k], k.length + 2)) break;
      }
    }
    if (size > cap) return size;
  }
  return undefined;
}
