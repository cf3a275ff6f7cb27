/**
 * Argument checks shared by every GPIO binding, so the real (onoff) and sim bindings reject exactly the same
 * calls with exactly the same codes (docs/ARCHITECTURE.md "Contract, real and sim bindings": the sim has the real binding's validation), and reject them
 * before anything touches /sys/class/gpio.
 */
import { DriverError, DriverErrorCode } from '../errors.ts';
import type { GpioEdge, GpioLineOptions, GpioValue } from './gpio-bus.ts';

const EDGES: readonly GpioEdge[] = ['none', 'rising', 'falling', 'both'];

/** The options a line really runs with: defaults applied, nothing left implicit. */
export interface NormalisedGpioOptions extends GpioLineOptions {
  edge: GpioEdge;
  activeLow: boolean;
}

function invalid(message: string): DriverError {
  return new DriverError(DriverErrorCode.INVALID_ARGUMENT, message);
}

export function isGpioValue(value: unknown): value is GpioValue {
  return value === 0 || value === 1;
}

/** Sysfs numbers are non-negative integers (gpiochip base + offset; bases reach 500+ on kernels >= 6.6). */
export function checkLineNumber(line: unknown): asserts line is number {
  if (typeof line !== 'number' || !Number.isSafeInteger(line) || line < 0) {
    throw invalid(`GPIO line must be a non-negative integer sysfs number, got ${String(line)}`);
  }
}

export function checkGpioValue(value: unknown): asserts value is GpioValue {
  if (!isGpioValue(value)) throw invalid(`GPIO value must be 0 or 1, got ${String(value)}`);
}

/**
 * Validates and normalises open() options.
 *
 * - `edge` is meaningful for inputs only (the kernel refuses edge on an output on some SoCs, see onoff issue #87),
 *   so anything but 'none' on an output is a configuration mistake and rejected.
 * - `initial` is meaningful for outputs only. When omitted it defaults to logical 0: sysfs "out" would drive the
 *   *raw* level low, which on active-low wiring means "on" — a relay must not click on just because its line was
 *   opened (docs/ARCHITECTURE.md "HAL and devices": safety). With the default, an output always opens inactive, whatever its polarity.
 */
export function normaliseGpioOptions(options: unknown): NormalisedGpioOptions {
  if (typeof options !== 'object' || options === null) throw invalid('GPIO line options must be an object');
  const { direction, edge, activeLow, initial } = options as Record<string, unknown>;
  if (direction !== 'in' && direction !== 'out') {
    throw invalid(`GPIO direction must be 'in' or 'out', got ${String(direction)}`);
  }
  if (edge !== undefined && !EDGES.includes(edge as GpioEdge)) {
    throw invalid(`GPIO edge must be one of ${EDGES.join(', ')}, got ${String(edge)}`);
  }
  if (activeLow !== undefined && typeof activeLow !== 'boolean') {
    throw invalid(`GPIO activeLow must be a boolean, got ${String(activeLow)}`);
  }
  if (initial !== undefined && !isGpioValue(initial)) {
    throw invalid(`GPIO initial value must be 0 or 1, got ${String(initial)}`);
  }
  if (direction === 'out') {
    if (edge !== undefined && edge !== 'none') throw invalid(`GPIO edge '${String(edge)}' is for inputs only`);
    return { direction, edge: 'none', activeLow: activeLow ?? false, initial: initial ?? 0 };
  }
  if (initial !== undefined) throw invalid('GPIO initial value is for outputs only');
  return { direction, edge: (edge as GpioEdge | undefined) ?? 'none', activeLow: activeLow ?? false };
}

/** Whether an edge that leaves the line at logical `value` is one the line was configured to report. */
export function edgeReports(edge: GpioEdge, value: GpioValue): boolean {
  return edge === 'both' || (edge === 'rising' && value === 1) || (edge === 'falling' && value === 0);
}

/** The level on the wire for a logical value (active-low wiring inverts). */
export function toPhysical(value: GpioValue, activeLow: boolean): GpioValue {
  return activeLow ? (value === 1 ? 0 : 1) : value;
}
