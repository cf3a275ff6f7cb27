/**
 * Durations in rules and config: a number of milliseconds, or a string with a unit — `500ms`, `30s`, `5m`, `1h`
 * (decimals allowed: `1.5s`). One parser so `cooldown: "30s"` and `cooldownMs: 30000` mean the same everywhere.
 */
import * as z from 'zod/mini';
import '../zod-messages.ts';

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/;

/** Milliseconds, or undefined when `text` is not a duration. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  if (!m) return undefined;
  const unit = m[2] as keyof typeof UNIT_MS;
  return Math.round(Number(m[1]) * UNIT_MS[unit]);
}

/**
 * A zod schema for a duration between `min` and `max` ms, as a number (ms) or a string with a unit. zod/mini's
 * transform gets the parse payload itself (no addIssue helper): an issue is pushed onto it as a custom check's would be.
 */
export function durationSchema(min: number, max: number) {
  return z.pipe(z.union([z.number(), z.string()]), z.transform((value, ctx) => {
    const ms = typeof value === 'number' ? value : parseDuration(value);
    if (ms === undefined || !Number.isFinite(ms)) {
      ctx.issues.push({ code: 'custom', input: value, message: `"${String(value)}" is not a duration (a number of ms, or e.g. "500ms", "30s", "5m", "1h")` });
      return z.NEVER;
    }
    if (ms < min || ms > max) {
      ctx.issues.push({ code: 'custom', input: value, message: `must be between ${formatDuration(min)} and ${formatDuration(max)} (got ${formatDuration(ms)})` });
      return z.NEVER;
    }
    return Math.round(ms);
  }));
}

export function formatDuration(ms: number): string {
  if (ms >= 3_600_000 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms >= 1000 && ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
