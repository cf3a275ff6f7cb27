/**
 * The simulated BME280's side of the formulas: which raw ADC readings a real chip with these trimming
 * parameters would produce for a given environment. The §8.1 formulas are monotonic in their ADC input over the
 * chip's range, so an integer bisection finds the reading whose compensated value is closest to the target; the
 * driver then reads back the environment to within one ADC step (< 0.01 °C, < 0.02 hPa, < 0.01 %RH at x1).
 */
import type { Bme280Calibration } from './calibration.ts';
import { ADC_SKIPPED_20 } from './registers.ts';
import { compensatePressure, compensateTemperature, humidityUnclamped, type RawSample } from './compensation.ts';

/** The integer x in [lo, hi] whose f(x) is closest to target, for f monotonic (either direction). */
export function invertMonotonic(f: (x: number) => number, target: number, lo: number, hi: number): number {
  const increasing = f(hi) >= f(lo);
  let a = lo;
  let b = hi;
  while (b - a > 1) {
    const mid = Math.floor((a + b) / 2);
    const below = f(mid) < target;
    if (below === increasing) a = mid;
    else b = mid;
  }
  return Math.abs(f(a) - target) <= Math.abs(f(b) - target) ? a : b;
}

const ADC20_MAX = 0xfffff;
const ADC16_MAX = 0xffff;

/** A real conversion never reports the "skipped" marker 0x80000 (§5.4.7/§5.4.8); nudge it by one LSB. */
const notSkipped = (adc: number): number => (adc === ADC_SKIPPED_20 ? adc + 1 : adc);

/** Raw readings for temperature (°C), pressure (Pa) and humidity (%RH). */
export function rawFromEnvironment(cal: Bme280Calibration, temperature: number, pressurePa: number, humidity: number): RawSample {
  const adcT = notSkipped(invertMonotonic((x) => compensateTemperature(x, cal).temperature, temperature, 0, ADC20_MAX));
  // Pressure and humidity compensation use the t_fine of the temperature the chip measured.
  const { tFine } = compensateTemperature(adcT, cal);
  const adcP = notSkipped(invertMonotonic((x) => compensatePressure(x, tFine, cal), pressurePa, 0, ADC20_MAX));
  const adcH = invertMonotonic((x) => humidityUnclamped(x, tFine, cal), humidity, 0, ADC16_MAX);
  return { adcT, adcP, adcH };
}
