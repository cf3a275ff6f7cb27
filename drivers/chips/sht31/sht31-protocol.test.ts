import t from 'tap';
import {
  checkedWords, crc8, humidityFromRaw, rawFromHumidity, rawFromTemperature, temperatureFromRaw, wordWithCrc,
} from './sht31-protocol.ts';

t.test('CRC-8 (poly 0x31, init 0xFF): the datasheet example CRC(0xBEEF) = 0x92 (§4.12 Table 20)', async (t) => {
  t.equal(crc8(Buffer.from([0xbe, 0xef])), 0x92);
  t.equal(crc8(Buffer.from([])), 0xff, 'the initial value');
  t.same([...wordWithCrc(0xbeef)], [0xbe, 0xef, 0x92]);
});

t.test('checkedWords verifies each word\'s CRC', async (t) => {
  const data = Buffer.concat([wordWithCrc(0x6666), wordWithCrc(0x8000)]);
  t.same(checkedWords(data, 2), [0x6666, 0x8000]);
  const bad = Buffer.from(data);
  bad[5] = (bad[5] ?? 0) ^ 0x80;
  t.equal(checkedWords(bad, 2), undefined, 'humidity CRC wrong');
  t.equal(checkedWords(data.subarray(0, 4), 2), undefined, 'short read');
});

t.test('§4.13 conversion: T = -45 + 175·S/65535, RH = 100·S/65535', async (t) => {
  t.equal(temperatureFromRaw(0), -45);
  t.equal(temperatureFromRaw(65535), 130);
  t.ok(Math.abs(temperatureFromRaw(0x6666) - 25.0) < 0.01, '0x6666 is about 25 °C');
  t.equal(humidityFromRaw(0), 0);
  t.equal(humidityFromRaw(65535), 100);
  t.ok(Math.abs(humidityFromRaw(0x8000) - 50.0008) < 0.0001);
  t.ok(Math.abs(temperatureFromRaw(rawFromTemperature(21.37)) - 21.37) < 0.002, 'inverse within one LSB');
  t.ok(Math.abs(humidityFromRaw(rawFromHumidity(48.6)) - 48.6) < 0.001);
  t.equal(rawFromTemperature(500), 65535, 'clamped');
  t.equal(rawFromHumidity(-3), 0);
});
