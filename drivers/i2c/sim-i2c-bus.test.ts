import t, { type Test } from 'tap';
import { DriverErrorCode } from '../errors.ts';
import type { SimI2cPeripheral } from '../sim-world.ts';
import { SimI2cWorld } from './sim-i2c-bus.ts';

class Recorder implements SimI2cPeripheral {
  readonly log: (number[] | number)[] = [];
  answer: number[] = [1, 2, 3, 4];
  write(data: Buffer): void {
    this.log.push([...data]);
  }
  read(length: number): Buffer {
    this.log.push(length);
    return Buffer.from(this.answer.slice(0, length));
  }
}

const instantClock = { setTimeout: (fn: () => void) => setImmediate(fn) };

async function setup(t: Test) {
  const world = new SimI2cWorld();
  const chip = new Recorder();
  world.attach(1, 0x40, chip);
  const bus = await world.open(1, { clock: instantClock });
  t.teardown(() => bus.close());
  return { world, chip, bus };
}

t.test('each operation reaches the peripheral as the wire carries it', async (t) => {
  const { chip, bus } = await setup(t);
  t.equal(await bus.readByte(0x40, 0xd0), 1);
  t.same([...(await bus.readBlock(0x40, 0x88, 3))], [1, 2, 3]);
  await bus.writeByte(0x40, 0xf4, 0x27);
  await bus.writeBlock(0x40, 0x10, Buffer.of(7, 8));
  await bus.write(0x40, Buffer.of(0x24, 0x00));
  t.same([...(await bus.read(0x40, 2))], [1, 2]);
  t.same(chip.log, [[0xd0], 1, [0x88], 3, [0xf4, 0x27], [0x10, 7, 8], [0x24, 0x00], 2]);
});

t.test('bytes a peripheral does not supply read as 0xFF (pulled-up SDA)', async (t) => {
  const { chip, bus } = await setup(t);
  chip.answer = [5];
  t.same([...(await bus.read(0x40, 3))], [5, 0xff, 0xff]);
});

t.test('attach/detach/failNext validate, and a failed transfer never reaches the peripheral', async (t) => {
  const { world, chip, bus } = await setup(t);
  t.throws(() => world.attach(1, 0x40, new Recorder()), { code: DriverErrorCode.INVALID_ARGUMENT }, 'occupied');
  t.throws(() => world.attach(1, 0x80, new Recorder()), { code: DriverErrorCode.INVALID_ARGUMENT });
  t.throws(() => world.attach(-1, 0x41, new Recorder()), { code: DriverErrorCode.INVALID_ARGUMENT });
  t.throws(() => world.attach(1, 0x41, {} as SimI2cPeripheral), { code: DriverErrorCode.INVALID_ARGUMENT });
  t.throws(() => world.failNext(1, 0x40, -1), { code: DriverErrorCode.INVALID_ARGUMENT });
  t.throws(() => world.failNext(1, 0x40, 1, 'oops'), { code: DriverErrorCode.INVALID_ARGUMENT });

  world.failNext(1, 0x40, 3);
  await t.rejects(bus.write(0x40, Buffer.of(1)), { code: DriverErrorCode.IO, cause: { code: 'EIO' } });
  t.same(chip.log, [], 'nothing reached the chip');

  t.equal(world.detach(1, 0x40), true);
  t.equal(world.detach(1, 0x40), false);
  await t.rejects(bus.readByte(0x40, 0), { cause: { code: 'ENXIO' } });
  world.attach(1, 0x40, chip);
  t.equal(await bus.readByte(0x40, 0), 1, 're-attached');
});

t.test('failures are per bus and per address; buses on one number share peripherals', async (t) => {
  const { world, bus } = await setup(t);
  const twin = await world.open(1);
  const other = await world.open(2);
  t.teardown(() => Promise.all([twin.close(), other.close()]));
  world.attach(1, 0x41, new Recorder());
  world.failNext(1, 0x41, 5);
  t.equal(await bus.readByte(0x40, 0), 1, 'another address is unaffected');
  t.equal(await twin.readByte(0x40, 0), 1, 'a second bus on sim i2c-1 sees the same chip');
  await t.rejects(other.readByte(0x40, 0), { cause: { code: 'ENXIO' } }, 'sim i2c-2 is another bus');
});

t.test('a peripheral that throws: errno codes are retried, other errors become ERR_DRIVER_IO at once', async (t) => {
  const world = new SimI2cWorld();
  let calls = 0;
  let failWith: unknown;
  world.attach(1, 0x50, {
    write() {
      calls += 1;
      if (failWith !== undefined) {
        const error = failWith;
        failWith = undefined;
        throw error;
      }
    },
    read: (length) => Buffer.alloc(length),
  });
  const bus = await world.open(1, { clock: instantClock });
  failWith = Object.assign(new Error('NACK on data byte'), { code: 'EREMOTEIO' });
  await bus.write(0x50, Buffer.of(1));
  t.equal(calls, 2, 'retried once, then succeeded');
  calls = 0;
  const bug = new RangeError('sim model bug');
  failWith = bug;
  await t.rejects(bus.write(0x50, Buffer.of(1)), { code: DriverErrorCode.IO, cause: bug });
  t.equal(calls, 1);
  await bus.close();
});

t.test('open validates the bus number', async (t) => {
  await t.rejects(new SimI2cWorld().open(-1), { code: DriverErrorCode.INVALID_ARGUMENT });
});
