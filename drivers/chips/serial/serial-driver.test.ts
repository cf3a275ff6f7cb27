import { once } from 'node:events';
import t from 'tap';
import type { ISerialDevice } from '../../device.ts';
import { DriverErrorCode } from '../../errors.ts';
import { FakeSimBoard } from '../test-support/fake-sim-board.ts';
import { createSerialDriver, serialConfigSchema } from './serial-driver.ts';

t.test('config schema', async (t) => {
  t.same(serialConfigSchema.parse({ port: 'uart1' }), { port: 'uart1', baudRate: 9600 });
  t.ok(serialConfigSchema.safeParse({ port: '/dev/ttyUSB0', baudRate: 115200, parity: 'even', stopBits: 2, dataBits: 7 }).success);
  t.notOk(serialConfigSchema.safeParse({ port: 'x', dataBits: 9 }).success);
  t.notOk(serialConfigSchema.safeParse({ baudRate: 9600 }).success);
  t.notOk(serialConfigSchema.safeParse({ port: 'x', flow: 'rtscts' }).success);
});

t.test('on the sim board the port is a loopback; one opener at a time; reopen after the holder ends', async (t) => {
  const board = new FakeSimBoard();
  t.teardown(() => board.close());
  const driver = createSerialDriver({ clock: board.clock });
  const config = serialConfigSchema.parse({ port: 'uart1', baudRate: 115200 });
  driver.simulate?.('modem', config, board, board.buses);
  const device = (await driver.create('modem', config, board.buses)) as ISerialDevice;
  t.match(device.status(), { value: 'closed' });

  const stream = await device.open();
  t.match(device.status(), { value: 'open', updatedAt: String });
  await t.rejects(device.open(), { code: DriverErrorCode.OPEN_FAILED, message: /already open/ });
  stream.write('AT\r\n');
  const [echo] = (await once(stream, 'data')) as [Buffer];
  t.equal(echo.toString(), 'AT\r\n');

  stream.destroy();
  await once(stream, 'close');
  await new Promise((resolve) => setImmediate(resolve));
  t.match(device.status(), { value: 'closed' });
  t.notOk(board.serial.isOpen('/dev/sim-uart1'));
  await device.open();
  t.ok(board.serial.isOpen('/dev/sim-uart1'));

  await Promise.all([device.close(), device.close()]);
  t.notOk(board.serial.isOpen('/dev/sim-uart1'));
  await t.rejects(device.open(), { code: DriverErrorCode.CLOSED });
});

t.test('simulate leaves a port another sim device already plays; open errors surface', async (t) => {
  const board = new FakeSimBoard();
  t.teardown(() => board.close());
  board.serial.attach('/dev/sim-gps', (far) => far.write('$GPTXT*00\r\n'));
  const driver = createSerialDriver({ clock: board.clock });
  driver.simulate?.('raw', serialConfigSchema.parse({ port: 'gps' }), board, board.buses);
  const device = (await driver.create('raw', serialConfigSchema.parse({ port: 'gps' }), board.buses)) as ISerialDevice;
  const stream = await device.open();
  const [line] = (await once(stream, 'data')) as [Buffer];
  t.equal(line.toString(), '$GPTXT*00\r\n', 'the GPS, not a loopback');
  await device.close();

  const missing = (await driver.create('none', serialConfigSchema.parse({ port: 'nothing' }), board.buses)) as ISerialDevice;
  await t.rejects(missing.open(), { code: DriverErrorCode.OPEN_FAILED });
  t.match(missing.status(), { error: /no such device/ });
  await missing.close();
});
