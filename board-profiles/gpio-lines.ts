/**
 * Header pin -> sysfs GPIO number (docs/ARCHITECTURE.md "HAL and devices"). The sysfs number is the gpiochip's runtime base + the line offset.
 * Bases are not constants: up to Linux 6.5 the SoC controller usually started at 0, since 6.6 gpiolib allocates
 * bases dynamically from 512 (Raspberry Pi 4: "pinctrl-bcm2711" at 512, GPIO17 = 529), and some boards put other
 * chips first (early Pi 5 kernels: "pinctrl-rp1" at 571 after four gpio-brcmstb chips; Jetson Orin: 348 for
 * "tegra234-gpio", 316 for "tegra234-gpio-aon"). So the chip is found by its label, never by its number:
 * /sys/class/gpio/gpiochip<base>/{label,base,ngpio}.
 *
 * Simulated chips (labels starting with "sim-", as in sim.json) have no sysfs: their base is 0 unless bases are
 * injected with `options.bases` (which also replaces sysfs for every chip, for tests).
 */
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { BoardError, BoardErrorCode } from './errors.ts';
import { lookupPin, notGpioReason } from './pin-lookup.ts';
import type { BoardProfile } from './profile-schema.ts';

export interface GpioChipInfo {
  label: string;
  base: number;
  ngpio: number;
}

export interface ResolvedLine {
  /** Number for /sys/class/gpio/export (and the `onoff` binding): chip base + line. */
  sysfs: number;
  /** gpiochip label. */
  chip: string;
  /** Offset inside the chip (what the GPIO character device / libgpiod uses). */
  line: number;
  /** Physical header pin and its name; absent for a `chip:line` that is not wired to the header. */
  pin?: number;
  name?: string;
}

export interface GpioLineResolverOptions {
  /** Chip bases by label, used instead of sysfs (tests; a sim board with a non-zero base). */
  bases?: Readonly<Record<string, number>>;
}

const SIM_CHIP_PREFIX = 'sim-';

async function readNumber(file: string): Promise<number | undefined> {
  try {
    const text = (await readFile(file, 'utf8')).trim();
    return /^\d+$/.test(text) ? Number(text) : undefined;
  } catch {
    return undefined;
  }
}

/** Every gpiochip under `<sysRoot>/sys/class/gpio`; entries without a readable label and base are skipped. */
export async function readGpioChips(sysRoot = '/'): Promise<GpioChipInfo[]> {
  const dir = path.join(sysRoot, 'sys', 'class', 'gpio');
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    throw new BoardError(BoardErrorCode.GPIOCHIP_NOT_FOUND, `cannot list ${dir}: ${(err as Error).message} (a kernel without GPIO sysfs, or not a board)`, { cause: err });
  }
  const chips: GpioChipInfo[] = [];
  for (const name of names.filter((n) => /^gpiochip\d+$/.test(n)).sort((a, b) => Number(a.slice(8)) - Number(b.slice(8)))) {
    const label = await readFile(path.join(dir, name, 'label'), 'utf8').then((s) => s.trim(), () => undefined);
    const base = await readNumber(path.join(dir, name, 'base'));
    const ngpio = await readNumber(path.join(dir, name, 'ngpio'));
    if (label !== undefined && base !== undefined) chips.push({ label, base, ngpio: ngpio ?? 0 });
  }
  return chips;
}

export class GpioLineResolver {
  readonly board: string;
  /** Oddities that do not stop resolution (a chip with another line count than the profile says). */
  readonly warnings: readonly string[];
  readonly #profile: BoardProfile;
  readonly #bases: ReadonlyMap<string, number>;
  /** Why a declared chip has no base (not found, or ambiguous), by label. */
  readonly #missing: ReadonlyMap<string, string>;

  private constructor(profile: BoardProfile, bases: Map<string, number>, missing: Map<string, string>, warnings: string[]) {
    this.board = profile.name;
    this.#profile = profile;
    this.#bases = bases;
    this.#missing = missing;
    this.warnings = warnings;
  }

  /**
   * Finds the profile's chips under `<sysRoot>/sys/class/gpio` by label. Fails when a chip the header uses is
   * missing (the wrong profile for this board, or GPIO sysfs unavailable); other declared chips fail on use.
   */
  static async open(profile: BoardProfile, sysRoot = '/', options: GpioLineResolverOptions = {}): Promise<GpioLineResolver> {
    if (options.bases) return GpioLineResolver.withBases(profile, options.bases);
    const simulated = profile.gpio.chips.every((c) => c.label.startsWith(SIM_CHIP_PREFIX));
    if (simulated) return GpioLineResolver.withBases(profile, {});
    const found = await readGpioChips(sysRoot);
    const dir = path.join(sysRoot, 'sys', 'class', 'gpio');
    const bases = new Map<string, number>();
    const missing = new Map<string, string>();
    const warnings: string[] = [];
    for (const chip of profile.gpio.chips) {
      const same = found.filter((f) => f.label === chip.label);
      const only = same[0];
      if (chip.label.startsWith(SIM_CHIP_PREFIX)) bases.set(chip.label, 0);
      else if (same.length > 1) missing.set(chip.label, `${same.length} gpiochips under ${dir} are labelled "${chip.label}" (bases ${same.map((f) => f.base).join(', ')})`);
      else if (!only) missing.set(chip.label, `gpiochip "${chip.label}" not found under ${dir} (found: ${found.map((f) => `${f.label}@${f.base}`).join(', ') || 'none'})`);
      else {
        bases.set(chip.label, only.base);
        if (only.ngpio !== chip.lines) warnings.push(`gpiochip "${chip.label}" has ${only.ngpio} lines, the ${profile.name} profile says ${chip.lines}`);
      }
    }
    const resolver = new GpioLineResolver(profile, bases, missing, warnings);
    const used = new Set(profile.gpio.header.flatMap((h) => (h.chip === undefined ? [] : [h.chip])));
    for (const label of used) {
      const why = missing.get(label);
      if (why !== undefined) throw new BoardError(BoardErrorCode.GPIOCHIP_NOT_FOUND, `board "${profile.name}": ${why}`);
    }
    return resolver;
  }

  /** No sysfs: the given base per chip label; simulated chips default to 0, any other chip must be given. */
  static withBases(profile: BoardProfile, bases: Readonly<Record<string, number>>): GpioLineResolver {
    const known = new Map<string, number>();
    const missing = new Map<string, string>();
    for (const chip of profile.gpio.chips) {
      const base = bases[chip.label] ?? (chip.label.startsWith(SIM_CHIP_PREFIX) ? 0 : undefined);
      if (base === undefined) missing.set(chip.label, `no base given for gpiochip "${chip.label}"`);
      else known.set(chip.label, base);
    }
    return new GpioLineResolver(profile, known, missing, []);
  }

  /** Accepts a header pin number (11, '11'), a line name or alias ('GPIO17', 'PAC.06'), or 'chip:line'. */
  resolve(pin: number | string): ResolvedLine {
    const found = lookupPin(this.#profile.gpio, pin);
    const where = `pin ${typeof pin === 'number' ? pin : JSON.stringify(pin)} on board "${this.board}"`;
    const why = notGpioReason(found);
    if (why !== undefined) throw new BoardError(found.kind === 'unknown' ? BoardErrorCode.PIN_UNKNOWN : BoardErrorCode.PIN_NOT_GPIO, `${where}: ${why}`);
    // notGpioReason() passed: a header entry has a line (and so a chip, by the schema), or it is a chip:line.
    const target =
      found.kind === 'header' ? { chip: found.entry.chip!, line: found.entry.line!, entry: found.entry }
      : found.kind === 'line' ? { chip: found.chip, line: found.line, entry: found.entry }
      : undefined;
    if (!target) throw new Error('unreachable: notGpioReason covers the other kinds');
    const { chip, line, entry } = target;
    const base = this.#bases.get(chip);
    if (base === undefined) throw new BoardError(BoardErrorCode.GPIOCHIP_NOT_FOUND, `${where}: ${this.#missing.get(chip) ?? `gpiochip "${chip}" has no base`}`);
    return { sysfs: base + line, chip, line, ...(entry ? { pin: entry.pin, name: entry.name } : {}) };
  }

  /** Every header pin that is a GPIO line, resolved, in pin order (for `openstarry devices`, diagnostics). */
  headerLines(): ResolvedLine[] {
    return this.#profile.gpio.header
      .filter((h) => h.line !== undefined)
      .sort((a, b) => a.pin - b.pin)
      .map((h) => this.resolve(h.pin));
  }
}
