import { existsSync } from 'node:fs';
import t from 'tap';
import { DriverError, DriverErrorCode } from '../errors.ts';
import { FakeSysfsGpio } from './fake-onoff.ts';
import { runGpioContract } from './gpio-contract.ts';
import { createOnoffGpioBus } from './onoff-gpio-bus.ts';

t.test('the binding passes the contract over a model of sysfs (wired pins, no drive)', async (t) => {
  runGpioContract(t, async () => {
    const sysfs = new FakeSysfsGpio({ 5: 6 });
    return {
      bus: createOnoffGpioBus({ loadBinding: async () => sysfs.module(), sysfsAvailable: () => true }),
      lines: { output: 5, input: 6 },
    };
  });
});

t.test('options map to onoff: glitch-free raw direction, activeLow, edge', async (t) => {
  const sysfs = new FakeSysfsGpio();
  const bus = createOnoffGpioBus({ loadBinding: async () => sysfs.module(), sysfsAvailable: () => true });
  t.teardown(() => bus.close());
  const opened = [
    await bus.open(1, { direction: 'out', initial: 1 }),
    await bus.open(2, { direction: 'out' }),
    await bus.open(3, { direction: 'out', activeLow: true, initial: 1 }),
    await bus.open(4, { direction: 'out', activeLow: true }),
    await bus.open(5, { direction: 'in', edge: 'both', activeLow: true }),
    await bus.open(6, { direction: 'in' }),
  ];
  t.same(
    sysfs.calls.map((c) => [c.gpio, c.direction, c.edge, c.options?.activeLow]),
    [
      [1, 'high', undefined, false],
      [2, 'low', undefined, false],
      [3, 'low', undefined, true], // logical 1 on an active-low line is a low wire (direction is raw)
      [4, 'high', undefined, true], // inactive active-low output: high wire
      [5, 'in', 'both', true],
      [6, 'in', 'none', false],
    ],
  );
  t.ok(sysfs.calls.every((c) => c.options?.reconfigureDirection === true), 'direction always rewritten');
  await opened[2]?.close();
  t.equal(sysfs.pins.get(3)?.exported, false, 'close unexports');
});

t.test('a line the kernel refuses to export: ERR_DRIVER_OPEN_FAILED with cause, line not left reserved', async (t) => {
  const sysfs = new FakeSysfsGpio();
  sysfs.busy.add(9);
  const bus = createOnoffGpioBus({ loadBinding: async () => sysfs.module(), sysfsAvailable: () => true });
  t.teardown(() => bus.close());
  const error = await bus.open(9, { direction: 'out' }).catch((e: unknown) => e);
  t.ok(error instanceof DriverError);
  t.match(error, { code: DriverErrorCode.OPEN_FAILED, cause: { code: 'EBUSY' } });
  sysfs.busy.delete(9);
  await t.resolves(bus.open(9, { direction: 'out' }));
});

t.test('no epoll addon: ERR_DRIVER_UNAVAILABLE from open, with the load error as cause', async (t) => {
  const missing = Object.assign(new Error("Cannot find module 'epoll.node'"), { code: 'MODULE_NOT_FOUND' });
  let loads = 0;
  const bus = createOnoffGpioBus({
    loadBinding: async () => {
      loads += 1;
      throw missing;
    },
  });
  await t.rejects(bus.open(17, { direction: 'out' }), { code: DriverErrorCode.UNAVAILABLE, cause: missing });
  await t.rejects(bus.open(17, { direction: 'out' }), { code: DriverErrorCode.UNAVAILABLE });
  t.equal(loads, 1, 'the load is attempted once');
  await bus.close();
});

t.test('invalid arguments are rejected before onoff is even loaded', async (t) => {
  let loads = 0;
  const bus = createOnoffGpioBus({
    loadBinding: async () => {
      loads += 1;
      return new FakeSysfsGpio().module();
    },
  });
  await t.rejects(bus.open(-3, { direction: 'out' }), { code: DriverErrorCode.INVALID_ARGUMENT });
  t.equal(loads, 0);
  await bus.close();
});

const hasSysfs = existsSync('/sys/class/gpio');
const realSkip = hasSysfs ? 'this machine has /sys/class/gpio: the hardware run (OPENSTARRY_HW_GPIO) covers it' : false;
t.test('the real onoff module on a machine without sysfs GPIO', { skip: realSkip }, async (t) => {
  const bus = createOnoffGpioBus();
  // Importing the driver did not crash; opening says why it cannot work here.
  await t.rejects(bus.open(17, { direction: 'out' }), { code: DriverErrorCode.UNAVAILABLE });
  await bus.close();
});
