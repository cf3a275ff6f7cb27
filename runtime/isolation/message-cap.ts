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
export { messageSizeOver } from '../core/message-size.ts';
import type { WireError } from '../core/errors.ts';
import type { IsolateNoteName } from '../core/channel-methods.ts';

export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;
/** The note an isolate's host sends, instead of an oversized message, just before it ends itself. */
export const TOO_LARGE_NOTE = 'host.message-too-large' satisfies IsolateNoteName;

export function tooLargeReason(bytes: number, cap: number): string {
  return `message-too-large: ${bytes} bytes > ${cap}`;
}

export function tooLargeError(bytes: number, cap: number): WireError {
  return { code: ErrorCode.MESSAGE_TOO_LARGE, message: tooLargeReason(bytes, cap) };
}

/** The `host.message-too-large` note's params from an untrusted isolate: the size it refused, or undefined. */
export function tooLargeBytes(params: unknown): number | undefined {
  const bytes = (params as { bytes?: unknown } | null)?.bytes;
  return typeof bytes === 'number' && Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined;
}
