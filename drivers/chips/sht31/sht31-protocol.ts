/**
 * Sensirion SHT3x-DIS protocol pieces (datasheet "SHT3x-DIS", Version 6): commands, timing, the CRC-8 and the
 * signal conversion. Pure functions, shared by the driver and the simulated sensor.
 */

/** §4.3 Table 9 (single shot, clock stretching disabled) and §4.9-§4.11 commands, as 16-bit words, MSB first. */
export const Sht31Command = {
  MEASURE_HIGH_NO_STRETCH: 0x2400,
  MEASURE_MEDIUM_NO_STRETCH: 0x240b,
  MEASURE_LOW_NO_STRETCH: 0x2416,
  MEASURE_HIGH_STRETCH: 0x2c06,
  MEASURE_MEDIUM_STRETCH: 0x2c0d,
  MEASURE_LOW_STRETCH: 0x2c10,
  SOFT_RESET: 0x30a2, // §4.9
  READ_STATUS: 0xf32d, // §4.11 Table 17
  CLEAR_STATUS: 0x3041, // §4.11 Table 18
} as const;

/** Table 4: measurement duration, high repeatability, max 15 ms (typ 12.5 ms). */
export const MEASUREMENT_MAX_MS_HIGH = 15;
/** Table 4: soft reset time t_SR, max 1.5 ms. */
export const SOFT_RESET_MAX_MS = 1.5;

export function commandBytes(command: number): Buffer {
  return Buffer.from([(command >> 8) & 0xff, command & 0xff]);
}

/**
 * §4.12 Table 20 checksum: CRC-8, polynomial 0x31 (x^8 + x^5 + x^4 + 1), initialisation 0xFF, no reflection,
 * no final XOR, over the two bytes of each word. CRC(0xBEEF) = 0x92.
 */
export function crc8(data: Uint8Array): number {
  let crc = 0xff;
  for (const byte of data) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x80 ? ((crc << 1) ^ 0x31) & 0xff : (crc << 1) & 0xff;
  }
  return crc;
}

/** A 16-bit word followed by its CRC, as the sensor sends every word. */
export function wordWithCrc(word: number): Buffer {
  const bytes = Buffer.from([(word >> 8) & 0xff, word & 0xff]);
  return Buffer.from([bytes[0] ?? 0, bytes[1] ?? 0, crc8(bytes)]);
}

/** Splits `data` (3 bytes per word) into words; undefined if any CRC does not match. */
export function checkedWords(data: Buffer, words: number): number[] | undefined {
  const out: number[] = [];
  for (let i = 0; i < words; i++) {
    const word = data.subarray(3 * i, 3 * i + 2);
    if (word.length < 2 || crc8(word) !== data[3 * i + 2]) return undefined;
    out.push(word.readUInt16BE(0));
  }
  return out;
}

/** §4.13: T[°C] = -45 + 175 · S_T / (2^16 - 1). */
export function temperatureFromRaw(raw: number): number {
  return -45 + (175 * raw) / 65535;
}

/** §4.13: RH[%] = 100 · S_RH / (2^16 - 1). */
export function humidityFromRaw(raw: number): number {
  return (100 * raw) / 65535;
}

const clamp16 = (x: number): number => Math.min(65535, Math.max(0, Math.round(x)));

/** The inverse of §4.13 (the sim's output). */
export function rawFromTemperature(celsius: number): number {
  return clamp16(((celsius + 45) * 65535) / 175);
}

export function rawFromHumidity(percent: number): number {
  return clamp16((percent * 65535) / 100);
}
