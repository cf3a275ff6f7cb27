import t from 'tap';
import { VirtualClock } from '../test-support/virtual-clock.ts';
import { parseCalibration } from './calibration.ts';
import { compensateHumidity, compensatePressure, compensateTemperature, decodeRawSample } from './compensation.ts';
import { Reg } from './registers.ts';
import { SIM_BME280_CALIBRATION, SimBme280 } from './sim-bme280.ts';

function setup(random = (): number => 0.5) {
  const clock = new VirtualClock();
  const chip = new SimBme280({ clock, random });
  const readReg = (reg: number, length = 1): Buffer => {
    chip.write(Buffer.from([reg]));
    return chip.read(length);
  };
  const writeReg = (reg: number, value: number): void => chip.write(Buffer.from([reg, value]));
  const readEnvironment = () => {
    const cal = parseCalibration(readReg(0x88, 26), readReg(0xe1, 7));
    const raw = decodeRawSample(readReg(0xf7, 8));
    const { temperature, tFine } = compensateTemperature(raw.adcT, cal);
    return { raw, temperature, pressure: compensatePressure(raw.adcP, tFine, cal) / 100, humidity: compensateHumidity(raw.adcH, tFine, cal) };
  };
  return { clock, chip, readReg, writeReg, readEnvironment };
}

t.test('chip id, calibration in NVM, reset values', async (t) => {
  const { readReg, clock } = setup();
  t.equal(readReg(Reg.ID)[0], 0x60);
  t.same(parseCalibration(readReg(0x88, 26), readReg(0xe1, 7)), SIM_BME280_CALIBRATION);
  clock.advance(5);
  t.same([...readReg(0xf2, 4)], [0, 0, 0, 0], 'ctrl_hum, status, ctrl_meas, config are 0 after power-on');
  t.same([...readReg(0xf7, 8)], [0x80, 0, 0, 0x80, 0, 0, 0x80, 0], 'data registers hold the "skipped" values');
});

t.test('soft reset (0xE0 <- 0xB6) clears control registers and flags the NVM copy for the start-up time', async (t) => {
  const { readReg, writeReg, clock } = setup();
  clock.advance(5);
  writeReg(Reg.CTRL_HUM, 1);
  writeReg(Reg.CONFIG, 0xa0);
  writeReg(Reg.RESET, 0x12); // any other value is ignored
  t.equal(readReg(Reg.CTRL_HUM)[0], 1);
  writeReg(Reg.RESET, 0xb6);
  t.equal(readReg(Reg.STATUS)[0], 0x01, 'im_update while the NVM is copied');
  t.equal(readReg(Reg.CTRL_HUM)[0], 0);
  t.equal(readReg(Reg.CONFIG)[0], 0);
  clock.advance(2);
  t.equal(readReg(Reg.STATUS)[0], 0);
  t.equal(readReg(Reg.RESET)[0], 0, 'reset reads as 0');
});

t.test('forced mode: measuring for the conversion time, then data and back to sleep', async (t) => {
  const { readReg, writeReg, clock, chip, readEnvironment } = setup();
  chip.setEnvironment({ temperature: 21.5, humidity: 47, pressure: 1009.3 });
  clock.advance(5);
  writeReg(Reg.CTRL_HUM, 0x01);
  writeReg(Reg.CTRL_MEAS, 0x25);
  t.equal(readReg(Reg.STATUS)[0], 0x08, 'measuring');
  t.equal(readReg(Reg.CTRL_MEAS)[0], 0x25);
  t.equal(readReg(0xf7)[0], 0x80, 'old data until the conversion ends');
  clock.advance(8); // §9.1 typical at x1/x1/x1
  t.equal(readReg(Reg.STATUS)[0], 0);
  t.equal(readReg(Reg.CTRL_MEAS)[0], 0x24, 'mode back to sleep (§3.3.3)');
  const env = readEnvironment();
  t.ok(Math.abs(env.temperature - 21.5) < 0.01, `T ${env.temperature}`);
  t.ok(Math.abs(env.humidity - 47) < 0.01, `H ${env.humidity}`);
  t.ok(Math.abs(env.pressure - 1009.3) < 0.01, `P ${env.pressure}`);
});

t.test('ctrl_hum only takes effect with the next ctrl_meas write (§5.4.3)', async (t) => {
  const { readReg, writeReg, clock } = setup();
  clock.advance(5);
  writeReg(Reg.CTRL_MEAS, 0x25); // ctrl_hum still 0: humidity skipped
  clock.advance(10);
  t.same([...readReg(0xfd, 2)], [0x80, 0x00]);
  writeReg(Reg.CTRL_HUM, 0x01); // no ctrl_meas write yet
  t.equal(readReg(Reg.CTRL_HUM)[0], 1);
  writeReg(Reg.CTRL_MEAS, 0x25);
  clock.advance(10);
  t.not(readReg(0xfd, 2).readUInt16BE(0), 0x8000);
});

t.test('skipped temperature/pressure oversampling reads back as 0x80000', async (t) => {
  const { readReg, writeReg, clock } = setup();
  clock.advance(5);
  writeReg(Reg.CTRL_HUM, 0x01);
  writeReg(Reg.CTRL_MEAS, 0b000_001_01);
  clock.advance(10);
  const raw = decodeRawSample(readReg(0xf7, 8));
  t.equal(raw.adcT, 0x80000);
  t.not(raw.adcP, 0x80000);
});

t.test('normal mode cycles with t_standby and keeps the mode', async (t) => {
  const { readReg, writeReg, clock } = setup();
  clock.advance(5);
  writeReg(Reg.CONFIG, 0b101_000_00); // t_sb = 1000 ms
  writeReg(Reg.CTRL_HUM, 0x01);
  writeReg(Reg.CTRL_MEAS, 0x27);
  t.equal(readReg(Reg.STATUS)[0], 0x08);
  clock.advance(8);
  t.equal(readReg(Reg.STATUS)[0], 0);
  t.equal(readReg(Reg.CTRL_MEAS)[0], 0x27);
  t.not(readReg(0xfa)[0], 0x80);
  clock.advance(1000);
  t.equal(readReg(Reg.STATUS)[0], 0x08, 'next cycle');
});

t.test('register writes are (register, value) pairs; read-only registers ignore writes', async (t) => {
  const { chip, readReg, clock } = setup();
  clock.advance(5);
  chip.write(Buffer.from([Reg.CTRL_HUM, 0x01, Reg.CONFIG, 0x40, Reg.ID, 0x00]));
  t.equal(readReg(Reg.CTRL_HUM)[0], 1);
  t.equal(readReg(Reg.CONFIG)[0], 0x40);
  t.equal(readReg(Reg.ID)[0], 0x60);
});

t.test('the environment drifts over a day within plausible bounds', async (t) => {
  let seed = 7;
  const random = (): number => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  const { writeReg, clock, readEnvironment } = setup(random);
  const seen = { t: [] as number[], h: [] as number[], p: [] as number[] };
  for (let hour = 0; hour < 48; hour++) {
    writeReg(Reg.CTRL_HUM, 1);
    writeReg(Reg.CTRL_MEAS, 0x25);
    clock.advance(3_600_000);
    const env = readEnvironment();
    seen.t.push(env.temperature);
    seen.h.push(env.humidity);
    seen.p.push(env.pressure);
  }
  t.ok(Math.min(...seen.t) >= 18 && Math.max(...seen.t) <= 26, 'temperature 18-26 °C');
  t.ok(Math.max(...seen.t) - Math.min(...seen.t) > 5, 'temperature follows a daily cycle');
  t.ok(Math.min(...seen.h) >= 40 && Math.max(...seen.h) <= 60, 'humidity 40-60 %RH');
  t.ok(Math.min(...seen.p) > 1005 && Math.max(...seen.p) < 1021, 'pressure around 1013 hPa');
});
