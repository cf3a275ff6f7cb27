import t, { type Test } from 'tap';
import type { ISensorDevice } from '../../device.ts';
import { DriverErrorCode } from '../../errors.ts';
import type { SimI2cPeripheral } from '../../sim-world.ts';
import { findSimPeripheral } from '../sim-registry.ts';
import { FakeSimBoard } from '../test-support/fake-sim-board.ts';
import { VirtualClock } from '../test-support/virtual-clock.ts';
import { bme280ConfigSchema, createBme280Driver } from './bme280-driver.ts';
import { SimBme280 } from './sim-bme280.ts';

async function setup(t: Test, configInput: unknown = {}) {
  const clock = new VirtualClock();
  clock.auto = true; // datasheet waits pass in virtual time
  const board = new FakeSimBoard(clock);
  t.teardown(() => board.close());
  const driver = createBme280Driver({ clock, random: () => 0.5 });
  const config = driver.configSchema.parse(configInput);
  driver.simulate?.('env0', config, board, board.buses);
  const chip = findSimPeripheral(board, 'env0', SimBme280);
  if (chip === undefined) throw new Error('no sim chip');
  return { clock, board, driver, config, chip, bus: await board.i2cBus(1), log: board.i2cLog };
}

t.test('config schema: defaults, accepted addresses, strict', async (t) => {
  t.same(bme280ConfigSchema.parse({}), { bus: 1, address: 0x76 });
  t.same(bme280ConfigSchema.parse({ bus: 'i2c-3', address: 0x77 }), { bus: 'i2c-3', address: 0x77 });
  t.notOk(bme280ConfigSchema.safeParse({ address: 0x40 }).success);
  t.notOk(bme280ConfigSchema.safeParse({ adress: 0x76 }).success, 'unknown keys are errors');
});

t.test('reads temperature, humidity and pressure from the simulated chip', async (t) => {
  const { driver, config, board, chip } = await setup(t);
  chip.setEnvironment({ temperature: 23.4, humidity: 51.2, pressure: 1011.7 });
  const device = (await driver.create('env0', config, board.buses)) as ISensorDevice;
  t.equal(device.kind, 'sensor');
  t.same(device.quantities, ['temperature', 'humidity', 'pressure']);
  t.ok(Math.abs((await device.read('temperature')) - 23.4) < 0.01);
  t.ok(Math.abs((await device.read('humidity')) - 51.2) < 0.02);
  t.ok(Math.abs((await device.read('pressure')) - 1011.7) < 0.01, 'hPa');
  const status = device.status();
  t.match(status, { value: { temperature: Number, humidity: Number, pressure: Number }, updatedAt: String });
  t.notOk('error' in status);
  await device.close();
});

t.test('init order: id check, reset, calibration, then ctrl_hum before ctrl_meas in every measurement', async (t) => {
  const { driver, config, board, bus, log } = await setup(t);
  const device = (await driver.create('env0', config, board.buses)) as ISensorDevice;
  const writes = (): number[][] => log.filter((e) => e.op === 'write').map((e) => e.bytes);
  t.same(writes()[0], [0xd0], 'chip id read first');
  t.same(writes()[1], [0xe0, 0xb6], 'soft reset');
  t.ok(writes().some((w) => w[0] === 0x88), 'calibration block 1 read');
  t.ok(writes().some((w) => w[0] === 0xe1), 'calibration block 2 read');
  log.length = 0;
  const transactionsBefore = bus.transactions;
  await device.read('temperature');
  t.equal(bus.transactions - transactionsBefore, 1, 'one measurement = one transaction');
  const w = writes();
  t.same(w.slice(0, 2), [[0xf2, 0x01], [0xf4, 0x25]], 'ctrl_hum, then ctrl_meas forced x1');
  t.same(w[w.length - 1], [0xf7], 'burst read from 0xF7');
  t.same(log[log.length - 1]?.bytes.length, 8);
  await device.close();
});

t.test('concurrent reads share one conversion', async (t) => {
  const { driver, config, board, bus } = await setup(t);
  const device = (await driver.create('env0', config, board.buses)) as ISensorDevice;
  const before = bus.transactions;
  const [a, b, c] = await Promise.all([device.read('temperature'), device.read('humidity'), device.read('pressure')]);
  t.equal(bus.transactions - before, 1);
  t.ok(a > 17 && a < 27 && b > 39 && b < 61 && c > 1000 && c < 1030);
  await device.close();
});

t.test('a chip that is not a BME280 is BAD_DEVICE (and a BMP280 is named)', async (t) => {
  const { board, driver } = await setup(t);
  const bmp: SimI2cPeripheral = { write: () => undefined, read: (n) => Buffer.alloc(n, 0x58) };
  board.i2c.attach(1, 0x77, bmp);
  await t.rejects(driver.create('env1', { bus: 1, address: 0x77 }, board.buses), { code: DriverErrorCode.BAD_DEVICE, message: /BMP280/ });
});

t.test('bus errors surface as DriverError IO and show in status; the next good read clears the error', async (t) => {
  const { board, driver, config } = await setup(t);
  const device = (await driver.create('env0', config, board.buses)) as ISensorDevice;
  await device.read('temperature');
  board.i2c.failNext(1, 0x76, 1, 'EREMOTEIO');
  t.ok((await device.read('temperature')) > 0, 'one NACK is retried by the bus');
  board.i2c.failNext(1, 0x76, 3, 'EREMOTEIO'); // all three attempts of one transfer
  await t.rejects(device.read('temperature'), { code: DriverErrorCode.IO });
  t.match(device.status(), { value: { temperature: Number }, error: /EREMOTEIO/ });
  await device.read('temperature');
  t.notOk('error' in device.status());
  await device.close();
});

t.test('a conversion that never ends times out after bounded polling', async (t) => {
  const { board, driver, chip } = await setup(t);
  let pointer = 0;
  let started = false;
  const stuck: SimI2cPeripheral = {
    write: (d) => {
      pointer = d[0] ?? 0;
      if (pointer === 0xf4 && d[1] === 0x25) started = true;
      chip.write(d);
    },
    read: (n) => (started && pointer === 0xf3 ? Buffer.from([0x08]) : chip.read(n)), // measuring, forever
  };
  board.i2c.attach(1, 0x77, stuck);
  const device = (await driver.create('env1', { bus: 1, address: 0x77 }, board.buses)) as ISensorDevice;
  await t.rejects(device.read('pressure'), { code: DriverErrorCode.TIMEOUT });
  await device.close();
});

t.test('skipped measurements are retried once, then BAD_DEVICE', async (t) => {
  const { board, driver, chip } = await setup(t);
  const forgetful: SimI2cPeripheral = {
    write: (d) => (d[0] === 0xf4 && d[1] === 0x25 ? undefined : chip.write(d)), // ignores ctrl_meas
    read: (n) => chip.read(n),
  };
  board.i2c.attach(1, 0x77, forgetful);
  const device = (await driver.create('env1', { bus: 1, address: 0x77 }, board.buses)) as ISensorDevice;
  await t.rejects(device.read('temperature'), { code: DriverErrorCode.BAD_DEVICE, message: /skipped/ });
  await device.close();
});

t.test('unknown quantity; close is idempotent and later reads are CLOSED', async (t) => {
  const { driver, config, board } = await setup(t);
  const device = (await driver.create('env0', config, board.buses)) as ISensorDevice;
  await t.rejects(device.read('co2'), { code: DriverErrorCode.INVALID_ARGUMENT });
  const pending = device.read('temperature');
  await Promise.all([device.close(), device.close()]);
  t.ok((await pending) > 0, 'the in-flight read completes');
  await t.rejects(device.read('temperature'), { code: DriverErrorCode.CLOSED });
});

t.test('simulate() refuses a bus name it cannot map to a sim bus number', async (t) => {
  const clock = new VirtualClock();
  const board = new FakeSimBoard(clock);
  t.teardown(() => board.close());
  const driver = createBme280Driver({ clock });
  t.throws(() => driver.simulate?.('x', { bus: 'left', address: 0x76 }, board, board.buses), { code: DriverErrorCode.INVALID_ARGUMENT });
  driver.simulate?.('y', { bus: '/dev/i2c-4', address: 0x76 }, board, board.buses);
  t.ok(board.attached.has('4:118'));
});
