import t from 'tap';
import { DriverError, DriverErrorCode } from '../errors.ts';
import { SerialisedI2cBus, errnoCode, type RawI2cTransport } from './serialised-bus.ts';

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A raw transport whose readByte fails with the queued errors first; logs every call. */
class FakeRaw implements RawI2cTransport {
  readonly log: string[] = [];
  readonly failures: unknown[] = [];
  closeError: unknown;
  private next(name: string): void {
    this.log.push(name);
    const failure = this.failures.shift();
    if (failure !== undefined) throw failure;
  }
  async readByte(address: number, register: number): Promise<number> {
    this.next(`readByte ${address} ${register}`);
    return 0x42;
  }
  async writeByte(address: number, register: number, value: number): Promise<void> {
    this.next(`writeByte ${address} ${register} ${value}`);
  }
  async readBlock(address: number, register: number, length: number): Promise<Buffer> {
    this.next(`readBlock ${address} ${register} ${length}`);
    return Buffer.alloc(length);
  }
  async writeBlock(address: number, register: number, data: Buffer): Promise<void> {
    this.next(`writeBlock ${address} ${register} ${[...data].join(',')}`);
  }
  async write(address: number, data: Buffer): Promise<void> {
    this.next(`write ${address} ${[...data].join(',')}`);
  }
  async read(address: number, length: number): Promise<Buffer> {
    this.next(`read ${address} ${length}`);
    return Buffer.alloc(length);
  }
  async close(): Promise<void> {
    this.log.push('close');
    if (this.closeError !== undefined) throw this.closeError;
  }
}

const errno = (code: string): Error => Object.assign(new Error(code), { code });

function fakeClock(): { delays: number[]; setTimeout: (fn: () => void, ms: number) => unknown } {
  const delays: number[] = [];
  return {
    delays,
    setTimeout: (fn, ms) => {
      delays.push(ms);
      return setImmediate(fn);
    },
  };
}

t.test('retries wait retryDelayMs on the injected clock between attempts', async (t) => {
  const raw = new FakeRaw();
  const clock = fakeClock();
  const bus = new SerialisedI2cBus(1, raw, { clock });
  raw.failures.push(errno('EIO'), errno('EAGAIN'));
  t.equal(await bus.readByte(0x40, 1), 0x42);
  t.same(clock.delays, [2, 2], 'default: 3 attempts, 2 ms apart');
  t.equal(raw.log.length, 3);

  const patient = new SerialisedI2cBus(1, raw, { clock, attempts: 5, retryDelayMs: 10 });
  raw.failures.push(errno('ETIMEDOUT'), errno('ETIMEDOUT'), errno('ETIMEDOUT'), errno('ETIMEDOUT'));
  t.equal(await patient.readByte(0x40, 1), 0x42);
  t.same(clock.delays.slice(2), [10, 10, 10, 10]);

  const once = new SerialisedI2cBus(1, raw, { clock, attempts: 1 });
  raw.failures.push(errno('EIO'));
  await t.rejects(once.readByte(0x40, 1), { code: DriverErrorCode.IO, message: /EIO/ });
  await Promise.all([bus.close(), patient.close(), once.close()]);
});

t.test('errors: non-errno ones are wrapped once, DriverErrors pass through, nothing else is retried', async (t) => {
  const raw = new FakeRaw();
  const bus = new SerialisedI2cBus(3, raw, { clock: fakeClock() });
  const bug = new TypeError('binding bug');
  raw.failures.push(bug);
  const error = await bus.readByte(0x40, 1).catch((e: unknown) => e);
  t.ok(error instanceof DriverError);
  t.match(error, { code: DriverErrorCode.IO, cause: bug, message: /i2c-3 readByte 0x40\[0x01\] failed: binding bug/ });
  t.equal(raw.log.length, 1);

  const typed = new DriverError(DriverErrorCode.BAD_DEVICE, 'from below');
  raw.failures.push(typed);
  t.equal(await bus.readByte(0x40, 1).catch((e: unknown) => e), typed);

  for (const code of ['ENXIO', 'EINVAL', 'EOPNOTSUPP', 'EPROTO']) {
    raw.log.length = 0;
    raw.failures.push(errno(code));
    await t.rejects(bus.readByte(0x40, 1), { code: DriverErrorCode.IO, cause: { code } }, code);
    t.equal(raw.log.length, 1, `${code} tried once`);
  }
  await bus.close();
});

t.test('errnoCode() recognises errno names only', async (t) => {
  t.equal(errnoCode(errno('EREMOTEIO')), 'EREMOTEIO');
  t.equal(errnoCode(new DriverError(DriverErrorCode.IO, 'x')), undefined);
  t.equal(errnoCode(Object.assign(new Error(), { code: 5 })), undefined);
  t.equal(errnoCode(null), undefined);
});

t.test('bad retry options are rejected', async (t) => {
  t.throws(() => new SerialisedI2cBus(1, new FakeRaw(), { attempts: 0 }), { code: DriverErrorCode.INVALID_ARGUMENT });
  t.throws(() => new SerialisedI2cBus(1, new FakeRaw(), { retryDelayMs: -1 }), { code: DriverErrorCode.INVALID_ARGUMENT });
});

t.test('close: a retrying operation finishes first; the raw bus closes once, after it', async (t) => {
  const raw = new FakeRaw();
  const bus = new SerialisedI2cBus(1, raw, { clock: fakeClock() });
  raw.failures.push(errno('EIO'));
  const reading = bus.readByte(0x40, 1);
  const queued = bus.writeByte(0x40, 2, 3);
  await turn();
  const closes = [bus.close(), bus.close()];
  t.equal(await reading, 0x42);
  await t.rejects(queued, { code: DriverErrorCode.CLOSED });
  await Promise.all(closes);
  await bus.close();
  t.same(raw.log, ['readByte 64 1', 'readByte 64 1', 'close']);
});

t.test('a raw close failure rejects close() with ERR_DRIVER_IO, every time', async (t) => {
  const raw = new FakeRaw();
  raw.closeError = errno('EBADF');
  const bus = new SerialisedI2cBus(1, raw);
  await t.rejects(bus.close(), { code: DriverErrorCode.IO, cause: { code: 'EBADF' } });
  await t.rejects(bus.close(), { code: DriverErrorCode.IO });
  t.same(raw.log, ['close']);
});

t.test('a call made from a transaction after it ended is queued like any other', async (t) => {
  const raw = new FakeRaw();
  const bus = new SerialisedI2cBus(1, raw);
  let fire: () => void = () => undefined;
  const armed = new Promise<void>((resolve) => (fire = resolve));
  let late: Promise<void> | undefined;
  await bus.transaction(async () => {
    // This continuation carries the transaction's async context but runs after the transaction is over.
    void armed.then(() => {
      late = bus.write(0x40, Buffer.of(9));
    });
  });
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const other = bus.transaction(async (io) => {
    await gate;
    await io.write(0x40, Buffer.of(1));
  });
  await turn();
  fire();
  await turn();
  release();
  await other;
  await late;
  t.same(raw.log, ['write 64 1', 'write 64 9'], 'the late call waited for the other transaction');
  await bus.close();
});

t.test('transaction() needs a function', async (t) => {
  const bus = new SerialisedI2cBus(1, new FakeRaw());
  await t.rejects(bus.transaction(undefined as unknown as () => Promise<void>), { code: DriverErrorCode.INVALID_ARGUMENT });
  await bus.close();
});

t.test('overlapping calls inside one transaction still reach the raw bus one at a time, in call order', async (t) => {
  let active = 0;
  let maxActive = 0;
  const raw = new FakeRaw();
  const write = raw.write.bind(raw);
  raw.write = async (address, data) => {
    active += 1;
    maxActive = Math.max(maxActive, active);
    await turn();
    await write(address, data);
    active -= 1;
  };
  const bus = new SerialisedI2cBus(1, raw);
  await bus.transaction((io) =>
    Promise.all([io.write(0x40, Buffer.of(1)), bus.write(0x40, Buffer.of(2)), io.write(0x40, Buffer.of(3))]),
  );
  t.equal(maxActive, 1);
  t.same(raw.log, ['write 64 1', 'write 64 2', 'write 64 3']);
  await bus.close();
});
