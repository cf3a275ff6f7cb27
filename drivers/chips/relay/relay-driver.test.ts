import t, { type Test } from 'tap';
import type { IActuatorDevice } from '../../device.ts';
import { DriverErrorCode } from '../../errors.ts';
import type { GpioLineOptions, IGpioBus, IGpioLine } from '../../gpio/gpio-bus.ts';
import { FakeSimBoard } from '../test-support/fake-sim-board.ts';
import { createRelayDriver, relayConfigSchema } from './relay-driver.ts';

async function setup(t: Test, input: Record<string, unknown>) {
  const board = new FakeSimBoard();
  t.teardown(() => board.close());
  const driver = createRelayDriver({ clock: board.clock });
  const config = driver.configSchema.parse(input);
  const opened: GpioLineOptions[] = [];
  const gpio = board.gpio;
  const spy: IGpioBus = {
    open: (line, options) => {
      opened.push({ ...options });
      return gpio.open(line, options);
    },
    close: () => gpio.close(),
  };
  const buses = { ...board.buses, gpio: () => spy };
  const device = (await driver.create('fan', config, buses)) as IActuatorDevice;
  return { board, device, opened };
}

t.test('config schema: pin required, defaults off / not inverted, strict', async (t) => {
  t.same(relayConfigSchema.parse({ pin: 17 }), { pin: 17, activeLow: false, safeState: 'off' });
  t.same(relayConfigSchema.parse({ pin: 'GPIO27', safeState: 'on', activeLow: true }), { pin: 'GPIO27', activeLow: true, safeState: 'on' });
  t.notOk(relayConfigSchema.safeParse({}).success);
  t.notOk(relayConfigSchema.safeParse({ pin: 17, safeState: 'maybe' }).success);
  t.notOk(relayConfigSchema.safeParse({ pin: 17, inverted: true }).success);
});

t.test('opens at the safe level, switches on and off, status follows', async (t) => {
  const { board, device, opened } = await setup(t, { pin: 17 });
  t.match(opened, [{ direction: 'out', initial: 0, activeLow: false }]);
  t.equal(board.gpio.level(17), 0, 'off from the first instant');
  t.same(device.envelope, { commands: ['on', 'off'] });
  t.equal(device.safeState, 'off');
  t.match(device.status(), { value: 'off' });
  await device.apply('on');
  t.equal(board.gpio.level(17), 1);
  t.match(device.status(), { value: 'on', updatedAt: String });
  await device.apply('off');
  t.equal(board.gpio.level(17), 0);
  t.match(device.status(), { value: 'off' });
});

t.test('active-low module: on drives the pin low; the safe state is on the wire from the open', async (t) => {
  const { board, device, opened } = await setup(t, { pin: 22, activeLow: true });
  t.match(opened, [{ initial: 0, activeLow: true }]);
  t.equal(board.gpio.level(22), 1, 'off = physically high, no glitch low at open');
  await device.apply('on');
  t.equal(board.gpio.level(22), 0);
});

t.test('safe state on: opens energised', async (t) => {
  const { board, device } = await setup(t, { pin: 5, safeState: 'on' });
  t.equal(device.safeState, 'on');
  t.equal(board.gpio.level(5), 1);
  t.match(device.status(), { value: 'on' });
});

t.test('bad commands are INVALID_ARGUMENT; line errors are reported in status', async (t) => {
  const { device } = await setup(t, { pin: 6 });
  await t.rejects(device.apply('toggle'), { code: DriverErrorCode.INVALID_ARGUMENT });
  await t.rejects(device.apply(1), { code: DriverErrorCode.INVALID_ARGUMENT });

  const failing: IGpioLine = {
    line: 7,
    options: { direction: 'out' },
    read: async () => 0,
    write: async () => {
      throw new Error('EIO');
    },
    watch: () => () => undefined,
    close: async () => undefined,
  };
  const board = new FakeSimBoard();
  t.teardown(() => board.close());
  const buses = { ...board.buses, gpio: (): IGpioBus => ({ open: async () => failing, close: async () => undefined }) };
  const relay = (await createRelayDriver().create('r', relayConfigSchema.parse({ pin: 7 }), buses)) as IActuatorDevice;
  await t.rejects(relay.apply('on'), { code: DriverErrorCode.IO });
  t.match(relay.status(), { value: 'off', error: /EIO/ });
});

t.test('close releases the line (reopenable), is idempotent, and later commands are CLOSED', async (t) => {
  const { board, device } = await setup(t, { pin: 17 });
  await device.apply('on');
  await Promise.all([device.close(), device.close()]);
  await device.close();
  await t.rejects(device.apply('off'), { code: DriverErrorCode.CLOSED });
  t.equal(board.gpio.level(17), 1, 'the output keeps its last level (the HAL drives the safe state before close)');
  const again = await board.gpio.open(17, { direction: 'out', initial: 0 });
  await again.close();
});
