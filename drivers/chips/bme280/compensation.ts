/**
 * BME280 compensation (BST-BME280-DS002 §4.2.3, in the double-precision form of §8.1 "Compensation formulas in
 * double precision floating point"). Temperature and pressure are the same formulas as the BMP280's (BMP280
 * datasheet §3.11.3 / §8.1), whose worked example in §3.12 the tests use.
 */
import type { Bme280Calibration } from './calibration.ts';

export interface TemperatureResult {
  /** °C */
  temperature: number;
  /** The fine temperature carried into the pressure and humidity formulas: (BME280_S32_t)(var1 + var2). */
  tFine: number;
}

/** §8.1 BME280_compensate_T_double. */
export function compensateTemperature(adcT: number, cal: Bme280Calibration): TemperatureResult {
  const var1 = (adcT / 16384.0 - cal.digT1 / 1024.0) * cal.digT2;
  const d = adcT / 131072.0 - cal.digT1 / 8192.0;
  const var2 = d * d * cal.digT3;
  // The C cast to a 32-bit integer truncates toward zero.
  return { temperature: (var1 + var2) / 5120.0, tFine: Math.trunc(var1 + var2) };
}

/** §8.1 BME280_compensate_P_double: pressure in Pa. 0 when the formula would divide by zero (as in Bosch's code). */
export function compensatePressure(adcP: number, tFine: number, cal: Bme280Calibration): number {
  let var1 = tFine / 2.0 - 64000.0;
  let var2 = (var1 * var1 * cal.digP6) / 32768.0;
  var2 = var2 + var1 * cal.digP5 * 2.0;
  var2 = var2 / 4.0 + cal.digP4 * 65536.0;
  var1 = ((cal.digP3 * var1 * var1) / 524288.0 + cal.digP2 * var1) / 524288.0;
  var1 = (1.0 + var1 / 32768.0) * cal.digP1;
  if (var1 === 0.0) return 0;
  let p = 1048576.0 - adcP;
  p = ((p - var2 / 4096.0) * 6250.0) / var1;
  var1 = (cal.digP9 * p * p) / 2147483648.0;
  var2 = (p * cal.digP8) / 32768.0;
  return p + (var1 + var2 + cal.digP7) / 16.0;
}

/** §8.1 BME280_compensate_H_double before its final clamp (the sim inverts this). */
export function humidityUnclamped(adcH: number, tFine: number, cal: Bme280Calibration): number {
  let h = tFine - 76800.0;
  h =
    (adcH - (cal.digH4 * 64.0 + (cal.digH5 / 16384.0) * h)) *
    ((cal.digH2 / 65536.0) * (1.0 + (cal.digH6 / 67108864.0) * h * (1.0 + (cal.digH3 / 67108864.0) * h)));
  return h * (1.0 - (cal.digH1 * h) / 524288.0);
}

/** §8.1 BME280_compensate_H_double: %RH, clamped to 0..100 as the datasheet does. */
export function compensateHumidity(adcH: number, tFine: number, cal: Bme280Calibration): number {
  return Math.min(100, Math.max(0, humidityUnclamped(adcH, tFine, cal)));
}

export interface RawSample {
  adcT: number;
  adcP: number;
  adcH: number;
}

/** §5.4.7-§5.4.9: the 0xF7-0xFE burst as 20-bit pressure/temperature and 16-bit humidity readings. */
export function decodeRawSample(data: Buffer): RawSample {
  const b = (i: number): number => data[i] ?? 0;
  return {
    adcP: (b(0) << 12) | (b(1) << 4) | (b(2) >> 4),
    adcT: (b(3) << 12) | (b(4) << 4) | (b(5) >> 4),
    adcH: (b(6) << 8) | b(7),
  };
}

/** The inverse of decodeRawSample (the sim's data registers). */
export function encodeRawSample(raw: RawSample): Buffer {
  return Buffer.from([
    (raw.adcP >> 12) & 0xff, (raw.adcP >> 4) & 0xff, (raw.adcP & 0x0f) << 4,
    (raw.adcT >> 12) & 0xff, (raw.adcT >> 4) & 0xff, (raw.adcT & 0x0f) << 4,
    (raw.adcH >> 8) & 0xff, raw.adcH & 0xff,
  ]);
}
