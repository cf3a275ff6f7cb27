/**
 * Validation of SerialOptions, shared by the real and the sim binding so both refuse the same things
 * (docs/ARCHITECTURE.md "Contract, real and sim bindings").
 */
import * as z from 'zod/mini';
import '../../runtime/zod-messages.ts';
import { DriverError, DriverErrorCode } from '../errors.ts';
import type { SerialOptions } from './serial-port.ts';

/**
 * The rates Linux termios has a Bxxx constant for (asm-generic/termbits.h). serialport would accept any number
 * and try a custom divisor, which most USB-serial adapters and the Pi's mini-UART silently round; refusing
 * non-standard rates turns a config typo (9000 for 9600) into an error instead of garbled bytes.
 */
export const STANDARD_BAUD_RATES: readonly number[] = [
  50, 75, 110, 134, 150, 200, 300, 600, 1200, 1800, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400,
  460800, 500000, 576000, 921600, 1000000, 1152000, 1500000, 2000000, 2500000, 3000000, 3500000, 4000000,
];

const DATA_BITS = [5, 6, 7, 8];
const STOP_BITS = [1, 2];
const PARITIES = ['none', 'even', 'odd'];

/** The options with defaults filled in (8N1, as serialport defaults them). */
export type ResolvedSerialOptions = Required<SerialOptions>;

/** Throws DriverError INVALID_ARGUMENT naming the bad field; returns the options with 8N1 defaults. */
export function validateSerialOptions(path: string, options: SerialOptions): ResolvedSerialOptions {
  const bad = (field: string, value: unknown, allowed: string): never => {
    throw new DriverError(
      DriverErrorCode.INVALID_ARGUMENT,
      `serial ${path || '(no path)'}: ${field} ${JSON.stringify(value)} is not one of ${allowed}`,
    );
  };
  if (typeof path !== 'string' || path.length === 0) bad('path', path, 'a non-empty device path');
  if (!STANDARD_BAUD_RATES.includes(options.baudRate)) bad('baudRate', options.baudRate, STANDARD_BAUD_RATES.join(', '));
  const dataBits = options.dataBits ?? 8;
  if (!DATA_BITS.includes(dataBits)) bad('dataBits', dataBits, DATA_BITS.join(', '));
  const stopBits = options.stopBits ?? 1;
  if (!STOP_BITS.includes(stopBits)) bad('stopBits', stopBits, STOP_BITS.join(', '));
  const parity = options.parity ?? 'none';
  if (!PARITIES.includes(parity)) bad('parity', parity, PARITIES.join(', '));
  return { baudRate: options.baudRate, dataBits, stopBits, parity };
}

/** The baud-rate field of a device config, validated at boot (a typo is a config error, not a failed open later). */
export const baudRateField = z._default(
  z.int().check(z.refine((b) => STANDARD_BAUD_RATES.includes(b), { message: `must be a standard rate (${STANDARD_BAUD_RATES.join(', ')})` })),
  9600,
);
