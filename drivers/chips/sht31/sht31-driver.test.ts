import t, { type Test } from 'tap';
import type { ISensorDevice } from '../../device.ts';
import { DriverErrorCode } from '../../errors.ts';
import { findSimPeripheral } from '../sim-registry.ts';
import { FakeSimBoard } from '../test-support/fake-sim-board.ts';
import { VirtualClock } from '../test-support/virtual-clock.ts';
import { createSht31Driver, sht31ConfigSchema } from './sht31-driver.ts';
import { SimSht31 } from './sim-sht31.ts';

async function setup(t: Test) {
  const clock = new VirtualClock();
  clock.auto = true;
  const board = new FakeSimBoard(clock);
  t.teardown(() => board.close());
  const driver = createSht31Driver({ clock, random: () => 0.5 });
  const config = driver.configSchema.parse({});
  driver.simulate?.('rh0', config, board, board.buses);
  const sensor = findSimPeripheral(board, 'rh0', SimSht31);
  if (sensor === undefined) throw new Error('no sim sensor');
  const device = (await driver.create('rh0', config, board.buses)) as ISensorDevice;
  t.teardown(() => device.close());
  return { clock, board, sensor, device, bus: await board.i2cBus(1), log: board.i2cLog };
}

t.test('config schema', async (t) => {
  t.same(sht31ConfigSchema.parse({}), { bus: 1, address: 0x44 });
  t.notOk(sht31ConfigSchema.safeParse({ address: 0x76 }).success);
  t.notOk(sht31ConfigSchema.safeParse({ extra: 1 }).success);
});

t.test('init: soft reset then a CRC-checked status read; reads T and RH', async (t) => {
  const { sensor, device, log } = await setup(t);
  t.same(log.slice(0, 3).map((e) => e.bytes.slice(0, 2)), [[0x30, 0xa2], [0xf3, 0x2d], [0x80, 0x10]]);
  sensor.setEnvironment({ temperature: 24.2, humidity: 38.5 });
  log.length = 0;
  t.ok(Math.abs((await device.read('temperature')) - 24.2) < 0.01);
  t.same(log[0]?.bytes, [0x24, 0x00], 'single shot, high repeatability, no clock stretching');
  t.equal(log[1]?.bytes.length, 6);
  t.ok(Math.abs((await device.read('humidity')) - 38.5) < 0.01);
  t.same(device.quantities, ['temperature', 'humidity']);
  t.match(device.status(), { value: { temperature: Number, humidity: Number }, updatedAt: String });
  await t.rejects(device.read('pressure'), { code: DriverErrorCode.INVALID_ARGUMENT });
});

t.test('a CRC mismatch is retried with a new measurement', async (t) => {
  const { sensor, device, bus } = await setup(t);
  sensor.setEnvironment({ temperature: 19 });
  sensor.corruptNextCrc();
  const before = bus.transactions;
  t.ok(Math.abs((await device.read('temperature')) - 19) < 0.01);
  t.equal(bus.transactions - before, 2);
  t.notOk('error' in device.status());
});

t.test('CRC mismatch twice -> BAD_DEVICE, shown in status', async (t) => {
  const { sensor, device } = await setup(t);
  sensor.corruptNextCrc(2);
  await t.rejects(device.read('temperature'), { code: DriverErrorCode.BAD_DEVICE, message: /CRC/ });
  t.match(device.status(), { error: /CRC/ });
  t.ok((await device.read('humidity')) > 0, 'recovers on the next read');
});

t.test('the sim NACKs a read before the measurement is done; bus errors are IO', async (t) => {
  const clock = new VirtualClock();
  const sensor = new SimSht31({ clock });
  sensor.write(Buffer.from([0x24, 0x00]));
  t.throws(() => sensor.read(6), { code: 'EREMOTEIO' });
  clock.advance(12.5);
  t.equal(sensor.read(6).length, 6);
  t.throws(() => sensor.read(6), { code: 'EREMOTEIO' }, 'data is cleared once read');
  t.throws(() => sensor.write(Buffer.from([0x12, 0x34])), { code: 'EREMOTEIO' }, 'unknown command');

  const { board, device } = await setup(t);
  board.i2c.failNext(1, 0x44, 3);
  await t.rejects(device.read('temperature'), { code: DriverErrorCode.IO });
});

t.test('no SHT3x at the address: init fails', async (t) => {
  const clock = new VirtualClock();
  clock.auto = true;
  const board = new FakeSimBoard(clock);
  t.teardown(() => board.close());
  const driver = createSht31Driver({ clock });
  board.i2c.attach(1, 0x45, { write: () => undefined, read: (n) => Buffer.alloc(n, 0) });
  await t.rejects(driver.create('x', { bus: 1, address: 0x45 }, board.buses), { code: DriverErrorCode.BAD_DEVICE });
  await t.rejects(driver.create('y', { bus: 2, address: 0x44 }, board.buses), { code: DriverErrorCode.IO });
});

t.test('close is idempotent; reads after close are CLOSED', async (t) => {
  const { device } = await setup(t);
  await device.close();
  await device.close();
  await t.rejects(device.read('temperature'), { code: DriverErrorCode.CLOSED });
});
