/**
 * Pure lookup of a pin spec in a profile's `gpio` section: a physical header pin number (`11`, `'11'`), a line
 * name or alias (`'GPIO17'`, `'PAC.06'`; case-insensitive), or `'<chip label>:<line>'` (`'tegra-gpio:216'`).
 * No file system here: the schema uses it to check device references, GpioLineResolver adds the sysfs base.
 */
import type { GpioSection, HeaderPin } from './gpio-schema.ts';

export type PinLookup =
  /** A listed header pin; `entry.line` is undefined for a dedicated I²C/UART pin. */
  | { kind: 'header'; entry: HeaderPin }
  /** A `chip:line` spec; `entry` is the header pin wired to that line, if any. */
  | { kind: 'line'; chip: string; line: number; entry?: HeaderPin }
  | { kind: 'power'; pin: number; rail: string }
  | { kind: 'unknown'; reason: string };

const sortedPins = (gpio: GpioSection): string => gpio.header.map((h) => h.pin).sort((a, b) => a - b).join(', ');

function byPinNumber(gpio: GpioSection, pin: number): PinLookup {
  const entry = gpio.header.find((h) => h.pin === pin);
  if (entry) return { kind: 'header', entry };
  const power = gpio.power.find((p) => p.pin === pin);
  if (power) return { kind: 'power', pin, rail: power.rail };
  return { kind: 'unknown', reason: `not a listed header pin (header pins: ${sortedPins(gpio)})` };
}

function byChipLine(gpio: GpioSection, label: string, lineText: string): PinLookup {
  const chip = gpio.chips.find((c) => c.label === label);
  if (!chip) return { kind: 'unknown', reason: `no gpiochip "${label}" on this board (chips: ${gpio.chips.map((c) => c.label).join(', ')})` };
  if (!/^\d+$/.test(lineText)) return { kind: 'unknown', reason: 'the line after ":" must be a number' };
  const line = Number(lineText);
  if (line >= chip.lines) return { kind: 'unknown', reason: `line ${line} is out of range for "${label}" (${chip.lines} lines)` };
  const entry = gpio.header.find((h) => h.chip === label && h.line === line);
  return entry ? { kind: 'line', chip: label, line, entry } : { kind: 'line', chip: label, line };
}

function byName(gpio: GpioSection, name: string): PinLookup {
  const wanted = name.toLowerCase();
  const entry = gpio.header.find((h) => h.name.toLowerCase() === wanted || h.aliases.some((a) => a.toLowerCase() === wanted));
  if (entry) return { kind: 'header', entry };
  const names = gpio.header.filter((h) => h.line !== undefined).map((h) => h.name);
  const shown = names.length > 8 ? `${names.slice(0, 8).join(', ')}, ...` : names.join(', ');
  return { kind: 'unknown', reason: `no header pin or line is named "${name}" (names: ${shown})` };
}

export function lookupPin(gpio: GpioSection, spec: number | string): PinLookup {
  if (typeof spec === 'number') {
    return Number.isInteger(spec) ? byPinNumber(gpio, spec) : { kind: 'unknown', reason: 'not an integer' };
  }
  const text = spec.trim();
  if (text === '') return { kind: 'unknown', reason: 'empty pin name' };
  if (/^\d+$/.test(text)) return byPinNumber(gpio, Number(text));
  const colon = text.lastIndexOf(':');
  if (colon > 0) return byChipLine(gpio, text.slice(0, colon), text.slice(colon + 1));
  return byName(gpio, text);
}

/**
 * Why a lookup result cannot be used as a GPIO line, or undefined when it can. The reason is worded to follow
 * `pin <spec> on board "<name>": `, e.g. `a GND pin (power/ground), not a GPIO`.
 */
export function notGpioReason(found: PinLookup): string | undefined {
  switch (found.kind) {
    case 'unknown':
      return found.reason;
    case 'power':
      return `a ${found.rail} pin (power/ground), not a GPIO`;
    case 'header':
      if (found.entry.line !== undefined) return undefined;
      return `header pin ${found.entry.pin} (${found.entry.name}) is a dedicated pin, not a GPIO line (functions: ${found.entry.functions.join(', ') || 'none'})`;
    case 'line':
      return undefined;
  }
}
