import t from 'tap';
import type { IActuatorDevice, IDevice, IInputDevice, ISensorDevice } from '../device.ts';
import { createDeviceDrivers, deviceDrivers, findSimPeripheral, SimBme280, SimPir } from './index.ts';
import { FakeSimBoard } from './test-support/fake-sim-board.ts';

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

t.test('the driver table', async (t) => {
  t.same([...deviceDrivers.keys()].sort(), ['bme280', 'camera', 'gps-nmea', 'pir', 'relay', 'serial', 'sht31']);
  const kinds = Object.fromEntries([...deviceDrivers.values()].map((d) => [d.name, d.kind]));
  t.same(kinds, { bme280: 'sensor', sht31: 'sensor', relay: 'actuator', pir: 'input', 'gps-nmea': 'sensor', camera: 'camera', serial: 'serial' });
  for (const driver of deviceDrivers.values()) {
    const result = driver.configSchema.safeParse({ pin: 1, port: 'x', notAnOption: true });
    t.notOk(result.success, `${driver.name}: unknown keys are rejected`);
  }
});

t.test('the sim board\'s default device set (docs/ARCHITECTURE.md "HAL and devices") runs on the sim buses', async (t) => {
  const board = new FakeSimBoard();
  const drivers = createDeviceDrivers({ clock: board.clock, random: () => 0.99 });
  const entries: [string, string, Record<string, unknown>][] = [
    ['env0', 'bme280', {}],
    ['fan', 'relay', { pin: 17 }],
    ['pir', 'pir', { pin: 4 }],
    ['cam0', 'camera', { device: 'sim' }],
    ['gps0', 'gps-nmea', { port: 'uart0' }],
  ];
  const devices = new Map<string, IDevice>();
  for (const [id, name, raw] of entries) {
    const driver = drivers.get(name);
    if (driver === undefined) throw new Error(name);
    const config = driver.configSchema.parse(raw);
    driver.simulate?.(id, config, board, board.buses);
    const pending = driver.create(id, config, board.buses);
    // Datasheet waits run on the virtual clock: step it while the device initialises.
    let done = false;
    void pending.finally(() => (done = true)).catch(() => undefined);
    while (!done) await board.clock.advanceAsync(1);
    devices.set(id, await pending);
  }

  findSimPeripheral(board, 'env0', SimBme280)?.setEnvironment({ temperature: 20.5 });
  const env0 = devices.get('env0') as ISensorDevice;
  const reading = env0.read('temperature');
  let value: number | undefined;
  void reading.then((v) => (value = v));
  while (value === undefined) await board.clock.advanceAsync(1);
  t.ok(Math.abs(value - 20.5) < 0.01);

  const fan = devices.get('fan') as IActuatorDevice;
  t.equal(board.gpio.level(17), 0);
  await fan.apply('on');
  t.equal(board.gpio.level(17), 1);

  const pir = devices.get('pir') as IInputDevice;
  findSimPeripheral(board, 'pir', SimPir)?.triggerMotion(2000);
  await turn();
  board.clock.advance(50);
  t.equal(await pir.read(), 1);

  await board.clock.advanceAsync(2000, 250);
  t.equal(await (devices.get('gps0') as ISensorDevice).read('fix'), 1);

  for (const device of devices.values()) await device.close();
  await board.close();
  t.equal(board.clock.pending, 0, 'no timers left behind');
});
