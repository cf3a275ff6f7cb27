import t from 'tap';
import type { Bme280Calibration } from './calibration.ts';
import {
  compensateHumidity, compensatePressure, compensateTemperature, decodeRawSample, encodeRawSample, humidityUnclamped,
} from './compensation.ts';

// BMP280 datasheet (BST-BMP280-DS001) §3.12 "Calculating pressure and temperature", example trimming values;
// the BME280 uses the same temperature and pressure formulas (BME280 §4.2.3 / §8.1).
const cal: Bme280Calibration = {
  digT1: 27504, digT2: 26435, digT3: -1000,
  digP1: 36477, digP2: -10685, digP3: 3024, digP4: 2855, digP5: 140, digP6: -7, digP7: 15500, digP8: -14600, digP9: 6000,
  digH1: 75, digH2: 362, digH3: 0, digH4: 315, digH5: 50, digH6: 30,
};

t.test('temperature: the datasheet example adc_T = 519888 -> 25.08 °C, t_fine = 128422', async (t) => {
  const { temperature, tFine } = compensateTemperature(519888, cal);
  t.equal(tFine, 128422);
  t.equal(Math.round(temperature * 100) / 100, 25.08);
});

t.test('pressure: the datasheet example adc_P = 415148 -> 100653.27 Pa', async (t) => {
  const { tFine } = compensateTemperature(519888, cal);
  const p = compensatePressure(415148, tFine, cal);
  // The §3.12 table carries t_fine unrounded (128422.29) and prints 100653.27 Pa; the §8.1 code casts t_fine to
  // a 32-bit integer first, which gives 100653.258 Pa. Both are the datasheet; they differ by 0.012 Pa, far
  // below the sensor's 0.18 Pa resolution at oversampling x1 (Table 3).
  t.ok(Math.abs(p - 100653.27) < 0.02, `p = ${p}`);
  t.ok(Math.abs(compensatePressure(415148, 128422.2869, cal) - 100653.27) < 0.005, 'with the table\'s unrounded t_fine');
});

t.test('pressure: a zero divisor returns 0 as Bosch\'s code does', async (t) => {
  t.equal(compensatePressure(415148, 128422, { ...cal, digP1: 0 }), 0);
});

t.test('humidity: a case worked by hand from the §8.1 formula', async (t) => {
  // t_fine = 128422, adc_H = 30000, H1 = 75, H2 = 362, H3 = 0, H4 = 315, H5 = 50, H6 = 30:
  //   var_H = t_fine - 76800                                   = 51622
  //   offset = H4 * 64 + H5 / 16384 * var_H = 20160 + 157.5378  = 20317.5378
  //   adc_H - offset                                          = 9682.4622
  //   gain = H2 / 65536 * (1 + H6 / 67108864 * var_H * (1 + 0))
  //        = 0.00552368 * (1 + 0.02307707)                     = 0.00565115
  //   var_H = 9682.4622 * 0.00565115                          = 54.7171
  //   var_H * (1 - H1 * var_H / 524288) = 54.7171 * 0.99217270 = 54.2888 %RH
  t.ok(Math.abs(compensateHumidity(30000, 128422, cal) - 54.2888) < 0.0005);
});

t.test('humidity: H3 enters the formula; the result is clamped to 0..100 %RH', async (t) => {
  t.not(humidityUnclamped(30000, 128422, { ...cal, digH3: 200 }), humidityUnclamped(30000, 128422, cal));
  t.ok(humidityUnclamped(60000, 128422, cal) > 100);
  t.equal(compensateHumidity(60000, 128422, cal), 100);
  t.ok(humidityUnclamped(1000, 128422, cal) < 0);
  t.equal(compensateHumidity(1000, 128422, cal), 0);
});

t.test('raw sample: 20-bit P/T from msb, lsb, xlsb[7:4]; 16-bit H (§5.4.7-§5.4.9)', async (t) => {
  const data = Buffer.from([0x65, 0x5a, 0xc0, 0x7e, 0xed, 0x00, 0x75, 0x30]);
  t.same(decodeRawSample(data), { adcP: 0x655ac, adcT: 0x7eed0, adcH: 30000 });
  t.same(decodeRawSample(encodeRawSample({ adcP: 415148, adcT: 519888, adcH: 12345 })), { adcP: 415148, adcT: 519888, adcH: 12345 });
});
