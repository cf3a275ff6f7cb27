/**
 * Agent log lines cross a trust boundary: whatever an isolate sends is data, never something to index, render or
 * keep unbounded. This turns a log note into a safe LogLine: known level, message capped and stripped of control
 * characters (no forged daemon log lines, no terminal escapes), fields made JSON-safe (BigInt, cycles, functions,
 * typed arrays) and capped in size.
 */
import type { LogLine } from './log-line.ts';
import { cutMarker } from '../core/message-size.ts';

export const MAX_MESSAGE_CHARS = 8 * 1024;
export const MAX_FIELDS_CHARS = 8 * 1024;
const MARKER_ROOM = 32;
const LEVELS = new Set(['debug', 'info', 'warn', 'error']);

export function sanitiseLevel(level: unknown): LogLine['level'] {
  return typeof level === 'string' && LEVELS.has(level) ? (level as LogLine['level']) : 'info';
}

/** Escapes control characters (newlines, ESC...) so one agent line stays one log line. */
export function sanitiseMessage(message: unknown): string {
  const text = typeof message === 'string' ? message : String(message);
  // Room for the marker the isolate's core already put on a line it cut (core/agent-core.ts): not cut twice.
  const capped = text.length > MAX_MESSAGE_CHARS + MARKER_ROOM ? `${text.slice(0, MAX_MESSAGE_CHARS)}${cutMarker(text.length - MAX_MESSAGE_CHARS)}` : text;
  // eslint-disable-next-line no-control-regex
  return capped.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => (c === '\n' ? '\\n' : c === '\r' ? '\\r' : c === '\t' ? '\t' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

/** A JSON-safe copy of `fields`, or a summary if it is too large; undefined when there are none. */
export function sanitiseFields(fields: unknown): Record<string, unknown> | undefined {
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) return undefined;
  const seen = new WeakSet<object>();
  let json: string;
  try {
    json = JSON.stringify(fields, (_key, value: unknown) => {
      if (typeof value === 'bigint') return value.toString();
      if (typeof value === 'function' || typeof value === 'symbol') return String(value);
      if (ArrayBuffer.isView(value)) return `[${value.constructor.name} ${value.byteLength} bytes]`;
      if (value instanceof ArrayBuffer) return `[ArrayBuffer ${value.byteLength} bytes]`;
      if (typeof value === 'object' && value !== null) {
        if (seen.has(value)) return '[Circular]';
        seen.add(value);
      }
      return value;
    });
  } catch (err) {
    return { unserialisable: (err as Error).message };
  }
  if (json === undefined || json === '{}') return undefined;
  if (json.length > MAX_FIELDS_CHARS) return { truncated: `${json.slice(0, MAX_FIELDS_CHARS)}…`, bytes: json.length };
  return JSON.parse(json) as Record<string, unknown>;
}
