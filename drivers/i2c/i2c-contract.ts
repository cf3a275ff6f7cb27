/**
 * The behaviour every II2cBus binding must show (docs/ARCHITECTURE.md "Contract, real and sim bindings"), run against the sim always and against /dev/i2c-N
 * on a board (see i2c-contract.test.ts).
 *
 * What needs no special hardware runs everywhere: reading a known register, argument validation, call order
 * under concurrency, transactions, close. What needs fault injection or a recording peripheral (proof that
 * transactions never interleave, retry counts, ENXIO) runs when the target gives sim controls, and is a visible
 * skip otherwise.
 */
import type { Test } from 'tap';
import { DriverError, DriverErrorCode } from '../errors.ts';
import type { ISimI2c, SimI2cPeripheral } from '../sim-world.ts';
import type { I2cIo, II2cBus } from './i2c-bus.ts';

export interface I2cContractTarget {
  /** A fresh bus; the suite closes it. Default retry options (3 attempts). */
  bus: II2cBus;
  /** A device on the bus with a register whose value never changes (a chip id: BME280 0x76, 0xD0 = 0x60). */
  known: { address: number; register: number; value: number };
  /** Fault injection and peripherals, for simulated buses. */
  sim?: { world: ISimI2c; busNumber: number };
}

type Transfer = { tag: string; write?: number[]; read?: number };

/** A peripheral that logs every transfer with the tag the test set last, and answers reads with 0xA0, 0xA1... */
class Recorder implements SimI2cPeripheral {
  readonly log: Transfer[] = [];
  write(data: Buffer): void {
    this.log.push({ tag: String(data[0]), write: [...data] });
  }
  read(length: number): Buffer {
    this.log.push({ tag: 'read', read: length });
    return Buffer.from(Array.from({ length }, (_, i) => 0xa0 + i));
  }
}

const invalid = { code: DriverErrorCode.INVALID_ARGUMENT };
const closed = { code: DriverErrorCode.CLOSED };
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function setup(t: Test, build: () => Promise<I2cContractTarget>): Promise<I2cContractTarget> {
  const target = await build();
  t.teardown(() => target.bus.close());
  return target;
}

/** Two addresses other than the known device's, for the recorder and an empty slot. */
function spareAddresses(known: number): [number, number] {
  const [a = 0x50, b = 0x51] = [0x50, 0x51, 0x52].filter((x) => x !== known);
  return [a, b];
}

export function runI2cContract(t: Test, build: () => Promise<I2cContractTarget>): void {
  t.test('reads the known register with every read form', async (t) => {
    const { bus, known } = await setup(t, build);
    t.equal(await bus.readByte(known.address, known.register), known.value, 'readByte');
    t.same([...(await bus.readBlock(known.address, known.register, 1))], [known.value], 'readBlock of 1');
    // Plain I²C: set the pointer with a write, then read (how pointer chips are read without SMBus).
    const viaPointer = await bus.transaction(async (io) => {
      await io.write(known.address, Buffer.of(known.register));
      return io.read(known.address, 1);
    });
    t.same([...viaPointer], [known.value], 'write pointer + read');
  });

  t.test('invalid arguments reject ERR_DRIVER_INVALID_ARGUMENT before touching the bus', async (t) => {
    const { bus, known } = await setup(t, build);
    const a = known.address;
    const bad: [string, () => Promise<unknown>][] = [
      ['address 0x02 (reserved)', () => bus.readByte(0x02, 0)],
      ['address 0x78 (reserved)', () => bus.readByte(0x78, 0)],
      ['address 1.5', () => bus.readByte(1.5, 0)],
      ['address NaN', () => bus.read(Number.NaN, 1)],
      ['register -1', () => bus.readByte(a, -1)],
      ['register 0x100', () => bus.writeByte(a, 0x100, 0)],
      ['value 256', () => bus.writeByte(a, 0, 256)],
      ['value -1', () => bus.writeByte(a, 0, -1)],
      ['value 1.5', () => bus.writeByte(a, 0, 1.5)],
      ['block length 0', () => bus.readBlock(a, 0, 0)],
      ['block length 33', () => bus.readBlock(a, 0, 33)],
      ['block data of 33 bytes', () => bus.writeBlock(a, 0, Buffer.alloc(33))],
      ['empty block data', () => bus.writeBlock(a, 0, Buffer.alloc(0))],
      ['block data not a Buffer', () => bus.writeBlock(a, 0, [1, 2] as unknown as Buffer)],
      ['empty plain write', () => bus.write(a, Buffer.alloc(0))],
      ['plain read length 0', () => bus.read(a, 0)],
      ['inside a transaction too', () => bus.transaction((io) => io.readByte(0x7f, 0))],
    ];
    for (const [what, call] of bad) await t.rejects(call(), invalid, what);
    t.equal(await bus.readByte(known.address, known.register), known.value, 'the bus still works');
  });

  t.test('concurrent calls all complete with correct results, in call order', async (t) => {
    const { bus, known } = await setup(t, build);
    const order: number[] = [];
    const calls = Array.from({ length: 12 }, (_, i) =>
      i % 3 === 0
        ? bus.transaction(async (io) => {
            const first = await io.readByte(known.address, known.register);
            await turn(); // give anything that could interleave the chance to
            const second = await io.readByte(known.address, known.register);
            order.push(i);
            return first === second ? first : -1;
          })
        : bus.readByte(known.address, known.register).then((v) => (order.push(i), v)),
    );
    t.same(await Promise.all(calls), calls.map(() => known.value));
    t.same(order, [...order].sort((x, y) => x - y), 'completed in call order');
  });

  t.test('transaction returns its value; its errors propagate unchanged and free the bus', async (t) => {
    const { bus, known } = await setup(t, build);
    t.equal(await bus.transaction(async () => 42), 42);
    const mine = new Error('chip said no');
    await t.rejects(bus.transaction(async () => Promise.reject(mine)), mine);
    t.equal(await bus.readByte(known.address, known.register), known.value, 'next operation runs');
  });

  t.test('calling the bus itself inside a transaction runs in place (no deadlock)', async (t) => {
    const { bus, known } = await setup(t, build);
    const value = await bus.transaction(async () => {
      const direct = await bus.readByte(known.address, known.register);
      const nested = await bus.transaction((io) => io.readByte(known.address, known.register));
      return direct === nested ? direct : -1;
    });
    t.equal(value, known.value);
  });

  t.test("a transaction's io is dead once the transaction ended", async (t) => {
    const { bus, known } = await setup(t, build);
    const kept: { io?: I2cIo } = {};
    await bus.transaction(async (io) => {
      kept.io = io;
    });
    t.ok(kept.io, 'the transaction received an io');
    if (kept.io) await t.rejects(kept.io.readByte(known.address, known.register), closed);
  });

  t.test('close: the running transaction completes, queued calls reject CLOSED, then everything does', async (t) => {
    const { bus, known } = await setup(t, build);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let started: () => void = () => undefined;
    const running = new Promise<void>((resolve) => (started = resolve));
    const first = bus.transaction(async (io) => {
      started();
      await gate;
      return io.readByte(known.address, known.register);
    });
    const queued: Promise<unknown>[] = [bus.readByte(known.address, known.register), bus.transaction(async () => 'never')];
    await running;
    const closing = bus.close();
    const closingToo = bus.close();
    release();
    t.equal(await first, known.value, 'the running transaction finished its I/O after close() was called');
    for (const q of queued) await t.rejects(q, closed);
    await closing;
    await closingToo;
    await t.resolves(bus.close(), 'idempotent');
    await t.rejects(bus.readByte(known.address, known.register), closed);
    await t.rejects(bus.transaction(async () => 1), closed);
  });

  type SimTarget = I2cContractTarget & { sim: NonNullable<I2cContractTarget['sim']> };
  const simOnly = (name: string, fn: (t: Test, target: SimTarget) => Promise<void>): void => {
    t.test(name, async (t) => {
      const target = await setup(t, build);
      const { sim } = target;
      if (!sim) {
        const reason = 'needs sim controls (fault injection, a recording peripheral)';
        t.pass(`SKIP: ${reason}`, { skip: reason });
        return;
      }
      await fn(t, { ...target, sim });
    });
  };

  simOnly('transactions never interleave, even when they yield between transfers', async (t, { bus, known, sim }) => {
    const [address] = spareAddresses(known.address);
    const recorder = new Recorder();
    sim.world.attach(sim.busNumber, address, recorder);
    const steps = (first: number): Promise<void> =>
      bus.transaction(async (io) => {
        for (let i = 0; i < 3; i += 1) {
          await io.write(address, Buffer.of(first + i));
          await turn();
        }
      });
    await Promise.all([steps(10), bus.write(address, Buffer.of(1)), steps(20), bus.read(address, 2), steps(30)]);
    t.same(
      recorder.log.map((x) => x.tag),
      ['10', '11', '12', '1', '20', '21', '22', 'read', '30', '31', '32'],
    );
  });

  simOnly('transient errnos are retried: two failures, then success on the third attempt', async (t, { bus, known, sim }) => {
    for (const code of ['EIO', 'EREMOTEIO', 'ETIMEDOUT', 'EAGAIN']) {
      sim.world.failNext(sim.busNumber, known.address, 2, code);
      t.equal(await bus.readByte(known.address, known.register), known.value, code);
    }
  });

  simOnly('retries are bounded: 3 attempts, then ERR_DRIVER_IO with the errno as cause', async (t, { bus, known, sim }) => {
    sim.world.failNext(sim.busNumber, known.address, 5, 'EREMOTEIO');
    const error = await bus.readByte(known.address, known.register).catch((e: unknown) => e);
    t.ok(error instanceof DriverError);
    t.match(error, { code: DriverErrorCode.IO, cause: { code: 'EREMOTEIO' } });
    // Exactly 3 of the 5 failures were used: the next call meets the other 2 and succeeds on its 3rd attempt.
    t.equal(await bus.readByte(known.address, known.register), known.value);
  });

  simOnly('ENXIO is not retried: no device at the address is not transient', async (t, { bus, known, sim }) => {
    const [, empty] = spareAddresses(known.address);
    await t.rejects(bus.readByte(empty, 0), { code: DriverErrorCode.IO, cause: { code: 'ENXIO' } });
    sim.world.failNext(sim.busNumber, known.address, 2, 'ENXIO');
    await t.rejects(bus.readByte(known.address, known.register), { code: DriverErrorCode.IO, cause: { code: 'ENXIO' } });
    await t.rejects(
      bus.readByte(known.address, known.register),
      { cause: { code: 'ENXIO' } },
      'one attempt used one failure',
    );
    t.equal(await bus.readByte(known.address, known.register), known.value);
  });

  simOnly('a failed transfer inside a transaction rejects there; the transaction decides', async (t, { bus, known, sim }) => {
    sim.world.failNext(sim.busNumber, known.address, 3);
    const outcome = await bus.transaction(async (io) => {
      const first = await io.readByte(known.address, known.register).catch((e: unknown) => e);
      const second = await io.readByte(known.address, known.register);
      return { first, second };
    });
    t.match(outcome.first, { code: DriverErrorCode.IO, cause: { code: 'EIO' } });
    t.equal(outcome.second, known.value);
  });
}
