import t from 'tap';
import { DriverErrorCode } from '../errors.ts';
import { runI2cContract } from './i2c-contract.ts';
import { openI2cBus, type I2cBusModule, type I2cBusPromisified } from './i2c-bus-real.ts';
import { SimRegisterChip } from './sim-register-chip.ts';

/** A fake PromisifiedBus: logs calls; `short` makes the next transfer move one byte less. */
function fakeModule() {
  const log: unknown[][] = [];
  const state = { short: false, failures: [] as Error[], opened: [] as number[] };
  const moved = (n: number): number => {
    if (!state.short) return n;
    state.short = false;
    return n - 1;
  };
  const fail = (): void => {
    const next = state.failures.shift();
    if (next) throw next;
  };
  const bus: I2cBusPromisified = {
    readByte: async (a, r) => (log.push(['readByte', a, r]), fail(), 0x60),
    writeByte: async (a, r, v) => void (log.push(['writeByte', a, r, v]), fail()),
    readI2cBlock: async (a, r, n, buffer) => {
      log.push(['readI2cBlock', a, r, n]);
      fail();
      buffer.fill(7, 0, n);
      return { bytesRead: moved(n), buffer };
    },
    writeI2cBlock: async (a, r, n, buffer) => {
      log.push(['writeI2cBlock', a, r, n, [...buffer]]);
      return { bytesWritten: moved(n), buffer };
    },
    i2cRead: async (a, n, buffer) => {
      log.push(['i2cRead', a, n]);
      buffer.fill(9, 0, n);
      return { bytesRead: moved(n), buffer };
    },
    i2cWrite: async (a, n, buffer) => {
      log.push(['i2cWrite', a, n, [...buffer]]);
      return { bytesWritten: moved(n), buffer };
    },
    close: async () => void log.push(['close']),
  };
  const module: I2cBusModule = {
    openPromisified: async (n) => {
      state.opened.push(n);
      return bus;
    },
  };
  return { log, state, module };
}

const instantClock = { setTimeout: (fn: () => void) => setImmediate(fn) };
const deviceOk = async (): Promise<void> => undefined;

t.test('operations map onto the promisified i2c-bus API', async (t) => {
  const fake = fakeModule();
  const bus = await openI2cBus(1, { loadBinding: async () => fake.module, checkDevice: deviceOk });
  t.equal(bus.busNumber, 1);
  t.same(fake.state.opened, [1]);
  t.equal(await bus.readByte(0x76, 0xd0), 0x60);
  await bus.writeByte(0x76, 0xf4, 0x27);
  t.same([...(await bus.readBlock(0x76, 0x88, 2))], [7, 7]);
  await bus.writeBlock(0x76, 0xf2, Buffer.of(1, 2));
  await bus.write(0x44, Buffer.of(0x24, 0x00));
  t.same([...(await bus.read(0x44, 3))], [9, 9, 9]);
  await bus.close();
  await bus.close();
  t.same(fake.log, [
    ['readByte', 0x76, 0xd0],
    ['writeByte', 0x76, 0xf4, 0x27],
    ['readI2cBlock', 0x76, 0x88, 2],
    ['writeI2cBlock', 0x76, 0xf2, 2, [1, 2]],
    ['i2cWrite', 0x44, 2, [0x24, 0x00]],
    ['i2cRead', 0x44, 3],
    ['close'],
  ]);
});

t.test('binding errnos are retried; a short transfer counts as EIO', async (t) => {
  const fake = fakeModule();
  const bus = await openI2cBus(1, { loadBinding: async () => fake.module, checkDevice: deviceOk, clock: instantClock });
  fake.state.failures.push(Object.assign(new Error('Remote I/O error'), { code: 'EREMOTEIO', errno: 121 }));
  t.equal(await bus.readByte(0x76, 0xd0), 0x60);
  fake.state.short = true;
  t.same([...(await bus.read(0x44, 2))], [9, 9], 'short read retried');
  fake.state.failures.push(...[1, 2, 3].map(() => Object.assign(new Error('EIO'), { code: 'EIO' })));
  await t.rejects(bus.readBlock(0x76, 0, 4), { code: DriverErrorCode.IO, cause: { code: 'EIO' } });
  await bus.close();
});

t.test('open failures are typed', async (t) => {
  const fake = fakeModule();
  await t.rejects(openI2cBus(-1, { loadBinding: async () => fake.module }), { code: DriverErrorCode.INVALID_ARGUMENT });
  const missing = new Error("Cannot find module 'i2c.node'");
  await t.rejects(
    openI2cBus(1, {
      loadBinding: async () => {
        throw missing;
      },
    }),
    { code: DriverErrorCode.UNAVAILABLE, cause: missing },
  );
  const enoent = Object.assign(new Error("ENOENT: no such file or directory, access '/dev/i2c-1'"), { code: 'ENOENT' });
  await t.rejects(
    openI2cBus(1, {
      loadBinding: async () => fake.module,
      checkDevice: async () => {
        throw enoent;
      },
    }),
    { code: DriverErrorCode.OPEN_FAILED, cause: enoent, message: /\/dev\/i2c-1/ },
  );
  t.same(fake.state.opened, [], 'i2c-bus was never asked to open');
});

t.test('the real i2c-bus module on this machine, bus without a device node', async (t) => {
  const error = await openI2cBus(250).then(
    async (bus) => {
      await bus.close();
      return undefined;
    },
    (e: unknown) => e,
  );
  // OPEN_FAILED where the addon is built (no /dev/i2c-250); UNAVAILABLE where it is not. Never a crash.
  t.match(error, { code: /^(ERR_DRIVER_OPEN_FAILED|ERR_DRIVER_UNAVAILABLE)$/ });
  const addonLoads = await import('i2c-bus').then(
    () => true,
    () => false,
  );
  if (addonLoads) t.match(error, { code: DriverErrorCode.OPEN_FAILED });
});

t.test('the binding passes the contract (no sim controls) over i2c-bus faked onto a register chip', async (t) => {
  runI2cContract(t, async () => {
    const chip = new SimRegisterChip({ registers: { 0xd0: 0x60 } });
    const at = (address: number): SimRegisterChip => {
      if (address === 0x76) return chip;
      throw Object.assign(new Error('No such device or address'), { code: 'ENXIO' });
    };
    const fake: I2cBusPromisified = {
      readByte: async (a, r) => (at(a).write(Buffer.of(r)), chip.read(1)[0] ?? 0xff),
      writeByte: async (a, r, v) => at(a).write(Buffer.of(r, v)),
      readI2cBlock: async (a, r, n, buffer) => {
        at(a).write(Buffer.of(r));
        chip.read(n).copy(buffer);
        return { bytesRead: n, buffer };
      },
      writeI2cBlock: async (a, r, n, buffer) => {
        at(a).write(Buffer.concat([Buffer.of(r), buffer.subarray(0, n)]));
        return { bytesWritten: n, buffer };
      },
      i2cRead: async (a, n, buffer) => {
        at(a).read(n).copy(buffer);
        return { bytesRead: n, buffer };
      },
      i2cWrite: async (a, n, buffer) => {
        at(a).write(buffer.subarray(0, n));
        return { bytesWritten: n, buffer };
      },
      close: async () => undefined,
    };
    const bus = await openI2cBus(1, { loadBinding: async () => ({ openPromisified: async () => fake }), checkDevice: deviceOk });
    return { bus, known: { address: 0x76, register: 0xd0, value: 0x60 } };
  });
});
