import t from 'tap';
import { formatNmea, nmeaChecksum, parseCoordinate, parseNmeaLine, type NmeaParseResult } from './nmea-parser.ts';

const GGA = '$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47';
const RMC = '$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6A';

function sentence(result: NmeaParseResult) {
  if (!result.ok) throw new Error(`parse failed: ${result.detail}`);
  return result.sentence;
}

t.test('checksum: XOR of the characters between $ and *', async (t) => {
  t.equal(nmeaChecksum(GGA.slice(1, GGA.indexOf('*'))), 0x47);
  t.equal(nmeaChecksum(RMC.slice(1, RMC.indexOf('*'))), 0x6a);
  t.equal(formatNmea('GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,'), GGA);
  t.equal(formatNmea('X'), '$X*58', 'two upper-case hex digits');
});

t.test('GGA: the reference example', async (t) => {
  const gga = sentence(parseNmeaLine(GGA));
  t.match(gga, { type: 'GGA', talker: 'GP', fixQuality: 1, satellites: 8, hdop: 0.9, altitude: 545.4, geoidSeparation: 46.9 });
  if (gga.type !== 'GGA') return;
  t.equal(gga.timeOfDayMs, ((12 * 60 + 35) * 60 + 19) * 1000);
  t.ok(Math.abs((gga.latitude ?? 0) - (48 + 7.038 / 60)) < 1e-12, '4807.038 N = 48.1173');
  t.ok(Math.abs((gga.longitude ?? 0) - (11 + 31 / 60)) < 1e-12, '01131.000 E = 11.516667');
});

t.test('RMC: the reference example; knots -> m/s; date + time -> UTC', async (t) => {
  const rmc = sentence(parseNmeaLine(RMC));
  t.match(rmc, { type: 'RMC', valid: true, course: 84.4 });
  if (rmc.type !== 'RMC') return;
  t.ok(Math.abs((rmc.speed ?? 0) - 22.4 * 0.514444) < 1e-3, '22.4 kn = 11.52 m/s');
  t.equal(rmc.timestamp, Date.UTC(1994, 2, 23, 12, 35, 19), '230394: two-digit year 94 is 1994');
});

t.test('southern and western hemispheres are negative (real receiver output)', async (t) => {
  const vancouver = sentence(parseNmeaLine('$GPRMC,225446,A,4916.45,N,12311.12,W,000.5,054.7,191194,020.3,E*68'));
  t.match(vancouver, { latitude: 49 + 16.45 / 60, longitude: -(123 + 11.12 / 60) });
  const melbourne = sentence(parseNmeaLine('$GPRMC,081836,A,3751.65,S,14507.36,E,000.0,360.0,130998,011.3,E*62'));
  t.match(melbourne, { latitude: -(37 + 51.65 / 60), longitude: 145 + 7.36 / 60, speed: 0 });
  const dublin = sentence(parseNmeaLine('$GPGGA,092750.000,5321.6802,N,00630.3372,W,1,8,1.03,61.7,M,55.2,M,,*76'));
  t.match(dublin, { type: 'GGA', satellites: 8, altitude: 61.7 });
  if (dublin.type === 'GGA') t.ok(Math.abs((dublin.longitude ?? 0) + 6.50562) < 1e-9);
  t.equal(sentence(parseNmeaLine(formatNmea('GPRMC,010203,A,4807.038,N,01131.000,E,0.0,0.0,010125,,,A'))).type, 'RMC');
  t.match(sentence(parseNmeaLine(formatNmea('GPRMC,010203,A,4807.038,N,01131.000,E,0.0,0.0,010125,,,A'))), { timestamp: Date.UTC(2025, 0, 1, 1, 2, 3) });
});

t.test('no fix: GGA quality 0, RMC status V or mode N, empty fields', async (t) => {
  t.match(sentence(parseNmeaLine(formatNmea('GPGGA,235947.000,,,,,0,00,,,M,,M,,'))), { type: 'GGA', fixQuality: 0, latitude: undefined, altitude: undefined });
  t.match(sentence(parseNmeaLine(formatNmea('GPRMC,235947.000,V,,,,,,,041299,,,N'))), { type: 'RMC', valid: false, latitude: undefined });
  t.match(sentence(parseNmeaLine(formatNmea('GPRMC,235947.000,A,4807.038,N,01131.000,E,,,041299,,,N'))), { valid: false }, 'status A but mode N');
});

t.test('other talkers and sentences', async (t) => {
  t.match(sentence(parseNmeaLine(formatNmea('GNGGA,123519,4807.038,N,01131.000,E,2,12,0.6,545.4,M,46.9,M,1.2,0031'))), { talker: 'GN', fixQuality: 2 });
  t.match(sentence(parseNmeaLine('$GPGSV,3,1,11,03,03,111,00,04,15,270,00,06,01,010,00,13,06,292,00*74')), { type: 'other', sentence: 'GSV' });
  t.match(sentence(parseNmeaLine(formatNmea('PMTK001,314,3'))), { type: 'other', talker: 'P', sentence: 'PMTK001' });
});

t.test('checksum failures', async (t) => {
  t.match(parseNmeaLine(GGA.replace('*47', '*48')), { ok: false, reason: 'checksum' });
  t.match(parseNmeaLine(GGA.replace('545.4', '545.5')), { ok: false, reason: 'checksum' }, 'a corrupted character');
  t.match(parseNmeaLine(GGA.slice(0, GGA.indexOf('*'))), { ok: false, reason: 'checksum', detail: 'no checksum' });
  t.match(parseNmeaLine(`${GGA.slice(0, -2)}G7`), { ok: false, reason: 'checksum' });
  t.ok(parseNmeaLine(GGA.replace('*47', '*47'.toLowerCase())).ok, 'lower-case hex is accepted');
});

t.test('malformed lines', async (t) => {
  t.match(parseNmeaLine('hello'), { ok: false, reason: 'malformed' });
  t.match(parseNmeaLine(formatNmea('GPGGA,123519,4807.038,N')), { ok: false, reason: 'malformed', detail: /fields/ });
  t.match(parseNmeaLine(formatNmea('GPGGA,123519,4867.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,')), { ok: false, detail: /out of range/ });
  t.match(parseNmeaLine(formatNmea('GPGGA,123519,4807.038,X,01131.000,E,1,08,0.9,545.4,M,46.9,M,,')), { ok: false, detail: /hemisphere/ });
  t.match(parseNmeaLine(formatNmea('GPGGA,123519,4807.038,N,01131.000,E,1,eight,0.9,545.4,M,46.9,M,,')), { ok: false, detail: /satellites/ });
  t.match(parseNmeaLine(formatNmea('GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,320394,003.1,W')), { ok: false, detail: /date/ });
  t.match(parseNmeaLine(formatNmea('gpgga,1')), { ok: false, reason: 'malformed' });
});

t.test('noise before the $ (receiver power-up) and trailing CR are tolerated', async (t) => {
  t.ok(parseNmeaLine(`\u0000\u00ff#junk${GGA}\r`).ok);
});

t.test('parseCoordinate edge cases', async (t) => {
  t.equal(parseCoordinate('0000.0000', 'N', 'lat'), 0);
  t.equal(parseCoordinate('9000.0000', 'S', 'lat'), -90);
  t.equal(parseCoordinate('18000.0000', 'W', 'lon'), -180);
  t.equal(parseCoordinate('4807', 'N', 'lat'), 48 + 7 / 60, 'no fraction');
  t.equal(parseCoordinate('', '', 'lat'), undefined);
  t.throws(() => parseCoordinate('480.7038', 'N', 'lat'));
  t.throws(() => parseCoordinate('04807.038', 'N', 'lat'), 'a longitude-shaped latitude');
});
