import t, { type Test } from 'tap';
import type { ISensorDevice } from '../../device.ts';
import { DriverErrorCode } from '../../errors.ts';
import { findSimPeripheral } from '../sim-registry.ts';
import { FakeSimBoard } from '../test-support/fake-sim-board.ts';
import type { GpsNmeaDevice } from './gps-device.ts';
import { createGpsNmeaDriver, gpsNmeaConfigSchema } from './gps-driver.ts';
import { formatNmea } from './nmea-parser.ts';
import { SimGps } from './sim-gps.ts';

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
/** Lets a second of sentences travel through the sim serial pair. */
async function seconds(board: FakeSimBoard, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    board.clock.advance(1000);
    for (let k = 0; k < 5; k++) await turn();
  }
}

async function setup(t: Test) {
  const board = new FakeSimBoard();
  t.teardown(() => board.close());
  let seed = 3;
  const driver = createGpsNmeaDriver({ clock: board.clock, random: () => (seed = (seed * 16807) % 2147483647) / 2147483647 });
  const config = driver.configSchema.parse({ port: 'uart0' });
  driver.simulate?.('gps0', config, board, board.buses);
  const sim = findSimPeripheral(board, 'gps0', SimGps);
  if (sim === undefined) throw new Error('no sim GPS');
  const device = (await driver.create('gps0', config, board.buses)) as ISensorDevice;
  t.teardown(() => device.close());
  return { board, sim, device, gps: device as GpsNmeaDevice };
}

t.test('config schema', async (t) => {
  t.same(gpsNmeaConfigSchema.parse({ port: '/dev/ttyAMA0' }), { port: '/dev/ttyAMA0', baudRate: 9600, staleAfterMs: 5000 });
  t.notOk(gpsNmeaConfigSchema.safeParse({}).success);
  t.notOk(gpsNmeaConfigSchema.safeParse({ port: 'x', parity: 'none' }).success);
});

t.test('before the first sentence every read is TIMEOUT "no fix yet"', async (t) => {
  const { device } = await setup(t);
  t.same(device.quantities, ['latitude', 'longitude', 'altitude', 'speed', 'satellites', 'fix']);
  await t.rejects(device.read('latitude'), { code: DriverErrorCode.TIMEOUT, message: /no fix yet/ });
  await t.rejects(device.read('fix'), { code: DriverErrorCode.TIMEOUT });
  await t.rejects(device.read('heading'), { code: DriverErrorCode.INVALID_ARGUMENT });
});

t.test('the sim GPS feeds a plausible fix once per second', async (t) => {
  const { board, device, gps } = await setup(t);
  await seconds(board, 3);
  t.equal(await device.read('fix'), 1);
  t.ok(Math.abs((await device.read('latitude')) - 48.1173) < 0.001);
  t.ok(Math.abs((await device.read('longitude')) - 11.5167) < 0.001);
  t.ok(Math.abs((await device.read('altitude')) - 545.4) < 10);
  const speed = await device.read('speed');
  t.ok(speed >= 0 && speed < 2, `speed ${speed} m/s`);
  const sats = await device.read('satellites');
  t.ok(sats >= 6 && sats <= 12);
  t.match(gps.stats, { sentences: 6, badChecksum: 0, malformed: 0, overlong: 0 });
  t.match(device.status(), { value: { fix: 1, latitude: Number, satellites: Number }, updatedAt: String });
  t.ok(Math.abs((gps.gpsTime ?? 0) - board.clock.now()) < 1000, 'the receiver\'s UTC time');
});

t.test('bad checksums and garbage are dropped and counted; overlong lines too', async (t) => {
  const { board, sim, device, gps } = await setup(t);
  sim.setFix(false);
  await seconds(board, 1);
  sim.inject('$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*48\r\n');
  sim.inject('garbage\r\n');
  sim.inject(`$${'9'.repeat(300)}\r\n`);
  for (let k = 0; k < 5; k++) await turn();
  t.match(gps.stats, { badChecksum: 1, malformed: 1, overlong: 1 });
  await t.rejects(device.read('latitude'), { code: DriverErrorCode.TIMEOUT }, 'the bad sentence did not give a fix');
  sim.inject(`${formatNmea('GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,')}\r\n`);
  for (let k = 0; k < 5; k++) await turn();
  t.equal(await device.read('altitude'), 545.4);
});

t.test('losing the fix: position reads are TIMEOUT, fix reads 0, satellites still answer', async (t) => {
  const { board, sim, device } = await setup(t);
  await seconds(board, 2);
  t.equal(await device.read('fix'), 1);
  sim.setFix(false);
  await seconds(board, 1);
  t.equal(await device.read('fix'), 0);
  t.ok((await device.read('satellites')) <= 3);
  await t.rejects(device.read('latitude'), { code: DriverErrorCode.TIMEOUT, message: /no fix/ });
  await t.rejects(device.read('speed'), { code: DriverErrorCode.TIMEOUT });
  sim.setFix(true);
  await seconds(board, 1);
  t.ok((await device.read('latitude')) > 48);
});

t.test('a receiver that goes silent: values go stale after staleAfterMs', async (t) => {
  const { board, device } = await setup(t);
  await seconds(board, 2);
  t.equal(await device.read('fix'), 1);
  const port = '/dev/sim-uart0';
  t.ok(board.serial.isOpen(port));
  await board.close(); // stops the world's timers: the GPS stops talking
  board.clock.advance(5001);
  await t.rejects(device.read('latitude'), { code: DriverErrorCode.TIMEOUT });
  await t.rejects(device.read('fix'), { code: DriverErrorCode.TIMEOUT, message: /no NMEA data/ });
});

t.test('close: idempotent, closes the port (reopenable), reads are CLOSED', async (t) => {
  const { board, device } = await setup(t);
  await Promise.all([device.close(), device.close()]);
  t.notOk(board.serial.isOpen('/dev/sim-uart0'));
  await t.rejects(device.read('fix'), { code: DriverErrorCode.CLOSED });
  const again = await board.serial.open('/dev/sim-uart0', { baudRate: 9600 });
  await again.close();
  await seconds(board, 1); // the sim GPS must cope with nobody listening
});

t.test('a port that cannot be opened is OPEN_FAILED', async (t) => {
  const board = new FakeSimBoard();
  t.teardown(() => board.close());
  await t.rejects(createGpsNmeaDriver().create('g', { port: 'nowhere', baudRate: 9600, staleAfterMs: 5000 }, board.buses), {
    code: DriverErrorCode.OPEN_FAILED,
  });
});
