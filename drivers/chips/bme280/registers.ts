/**
 * BME280 register map and bit fields (Bosch BST-BME280-DS002, §5.3 "Memory map", §5.4 "Register description").
 */
export const BME280_CHIP_ID = 0x60; // §5.4.1: register 0xD0 reads 0x60
/** BMP280 answers 0x56-0x58 at the same addresses; named in the wrong-chip error to help the user. */
export const BMP280_CHIP_IDS: readonly number[] = [0x56, 0x57, 0x58];

export const Reg = {
  /** §4.2.2 Table 16: calibration block 1, calib00..calib25 (dig_T1..dig_P9, one reserved byte, dig_H1). */
  CALIB_00: 0x88,
  /** §4.2.2 Table 16: calibration block 2, calib26..calib32 (dig_H2..dig_H6). */
  CALIB_26: 0xe1,
  ID: 0xd0, // §5.4.1
  RESET: 0xe0, // §5.4.2: writing 0xB6 performs a power-on reset
  CTRL_HUM: 0xf2, // §5.4.3
  STATUS: 0xf3, // §5.4.4
  CTRL_MEAS: 0xf4, // §5.4.5
  CONFIG: 0xf5, // §5.4.6
  PRESS_MSB: 0xf7, // §5.4.7-5.4.9: press_msb..hum_lsb, 0xF7-0xFE, read in one burst (§4: data shadowing)
} as const;

export const CALIB_00_LENGTH = 0xa1 - 0x88 + 1; // 26 bytes, 0x88-0xA1
export const CALIB_26_LENGTH = 0xe7 - 0xe1 + 1; // 7 bytes, 0xE1-0xE7
export const DATA_LENGTH = 0xfe - 0xf7 + 1; // 8 bytes

export const RESET_COMMAND = 0xb6; // §5.4.2
export const STATUS_MEASURING = 0x08; // §5.4.4 bit 3: a conversion is running
export const STATUS_IM_UPDATE = 0x01; // §5.4.4 bit 0: NVM data being copied to image registers

/** §5.4.3 / §5.4.5 oversampling field values: 0 = skipped, 1 = x1, 2 = x2, 3 = x4, 4 = x8, 5..7 = x16. */
export const OVERSAMPLING_X1 = 0b001;
/** §5.4.5 mode[1:0]: 00 sleep, 01 and 10 forced, 11 normal. */
export const MODE_SLEEP = 0b00;
export const MODE_FORCED = 0b01;
export const MODE_NORMAL = 0b11;

/** ctrl_meas for one forced measurement with temperature and pressure oversampling x1 (§5.4.5: osrs_t[7:5], osrs_p[4:2], mode[1:0]). */
export const CTRL_MEAS_FORCED_X1 = (OVERSAMPLING_X1 << 5) | (OVERSAMPLING_X1 << 2) | MODE_FORCED; // 0x25
/** ctrl_hum with humidity oversampling x1 (§5.4.3: osrs_h[2:0]). */
export const CTRL_HUM_X1 = OVERSAMPLING_X1;

/** Oversampling factor of a 3-bit osrs field (§5.4.3 Table 20, §5.4.5 Tables 23/24). */
export function oversamplingFactor(osrs: number): number {
  const field = osrs & 0b111;
  return field === 0 ? 0 : Math.min(16, 1 << (field - 1));
}

/** Raw values of a skipped measurement (§5.4.7-§5.4.9 reset values): 0x80000 for T and P, 0x8000 for H. */
export const ADC_SKIPPED_20 = 0x80000;
export const ADC_SKIPPED_16 = 0x8000;

/**
 * Measurement time in ms (§9.1, Appendix B "Measurement time and current calculation"), for oversampling factors
 * (0 = skipped): typical 1 + 2·T + (2·P + 0.5) + (2·H + 0.5); maximum 1.25 + 2.3·T + (2.3·P + 0.575) + (2.3·H + 0.575).
 */
export function measurementTimeMs(t: number, p: number, h: number, which: 'typical' | 'max'): number {
  if (which === 'typical') return 1 + 2 * t + (p > 0 ? 2 * p + 0.5 : 0) + (h > 0 ? 2 * h + 0.5 : 0);
  return 1.25 + 2.3 * t + (p > 0 ? 2.3 * p + 0.575 : 0) + (h > 0 ? 2.3 * h + 0.575 : 0);
}
