import t from 'tap';
import { DriverErrorCode } from '../errors.ts';
import { SimI2cWorld } from './sim-i2c-bus.ts';
import { SimRegisterChip } from './sim-register-chip.ts';

t.test('initial registers from a map or an image', async (t) => {
  const mapped = new SimRegisterChip({ registers: { 0xd0: 0x60, 0x01: 7 } });
  t.equal(mapped.get(0xd0), 0x60);
  t.equal(mapped.get(0x01), 7);
  t.equal(mapped.get(0x02), 0);
  const image = new SimRegisterChip({ registers: Uint8Array.of(9, 8, 7) });
  t.same([...image.getBlock(0, 4)], [9, 8, 7, 0]);
  t.throws(() => new SimRegisterChip({ registers: { 0x100: 1 } }), { code: DriverErrorCode.INVALID_ARGUMENT });
  t.throws(() => new SimRegisterChip({ registers: { 1: 256 } }), { code: DriverErrorCode.INVALID_ARGUMENT });
  t.throws(() => new SimRegisterChip({ registers: new Uint8Array(257) }), { code: DriverErrorCode.INVALID_ARGUMENT });
});

t.test('reads auto-increment from the pointer and wrap after 0xFF', async (t) => {
  const chip = new SimRegisterChip();
  chip.setBlock(0xfe, [1, 2]);
  chip.set(0x00, 3);
  chip.write(Buffer.of(0xfe));
  t.equal(chip.pointer, 0xfe);
  t.same([...chip.read(3)], [1, 2, 3]);
  t.equal(chip.pointer, 0x01);
  t.same([...chip.read(1)], [0], 'a read without a new pointer continues');
  chip.write(Buffer.alloc(0));
  t.equal(chip.pointer, 0x02, 'an empty write (a probe) leaves the pointer');
});

t.test('sequential writes auto-increment; read-only masks protect bits', async (t) => {
  const chip = new SimRegisterChip({ registers: { 0x10: 0xf0 }, readOnly: { 0x10: 0xf0, 0x12: 0xff } });
  chip.set(0x12, 0x55);
  chip.write(Buffer.of(0x10, 0x0f, 0xaa, 0x01));
  t.equal(chip.get(0x10), 0xff, 'high nibble kept, low nibble written');
  t.equal(chip.get(0x11), 0xaa);
  t.equal(chip.get(0x12), 0x55, 'fully read-only register unchanged');
  chip.set(0x12, 0x66);
  t.equal(chip.get(0x12), 0x66, 'set() is the chip itself: masks do not apply');
});

t.test("pairs mode writes (register, value) pairs like a BME280", async (t) => {
  const chip = new SimRegisterChip({ writeMode: 'pairs' });
  chip.write(Buffer.of(0xf2, 0x01, 0xf4, 0x27, 0xd0));
  t.equal(chip.get(0xf2), 0x01);
  t.equal(chip.get(0xf3), 0x00, 'not an auto-incremented target');
  t.equal(chip.get(0xf4), 0x27);
  t.equal(chip.pointer, 0xd0, 'a trailing lone register byte sets the pointer');
});

t.test('hooks see master traffic only, with the stored and previous values', async (t) => {
  const writes: number[][] = [];
  const reads: number[] = [];
  class Chip extends SimRegisterChip {
    protected override onRegisterWrite(register: number, value: number, previous: number): void {
      writes.push([register, value, previous]);
      if (register === 0xe0 && value === 0xb6) this.set(0xf4, 0); // a soft reset clears ctrl_meas
    }
    protected override onRegisterRead(register: number): void {
      reads.push(register);
      if (register === 0xf7) this.set(0xf7, 0x80); // latch a measurement at the start of a burst
    }
  }
  const chip = new Chip({ readOnly: { 0x01: 0x0f }, registers: { 0x01: 0x03, 0xf4: 0x27 } });
  chip.write(Buffer.of(0x01, 0xff));
  chip.write(Buffer.of(0xe0, 0xb6));
  t.same(writes, [
    [0x01, 0xf3, 0x03],
    [0xe0, 0xb6, 0x00],
  ]);
  t.equal(chip.get(0xf4), 0);
  chip.write(Buffer.of(0xf7));
  t.same([...chip.read(2)], [0x80, 0]);
  t.same(reads, [0xf7, 0xf8]);
  chip.set(0x20, 1);
  chip.get(0x20);
  t.equal(writes.length, 2, 'set() calls no hook');
  t.equal(reads.length, 2, 'get() calls no hook');
});

t.test('block helpers stay inside the register file', async (t) => {
  const chip = new SimRegisterChip();
  t.throws(() => chip.setBlock(0xff, [1, 2]), { code: DriverErrorCode.INVALID_ARGUMENT });
  t.throws(() => chip.getBlock(0xf0, 17), { code: DriverErrorCode.INVALID_ARGUMENT });
  t.throws(() => chip.setBlock(0, [256]), { code: DriverErrorCode.INVALID_ARGUMENT });
  t.throws(() => chip.setReadOnly(0x100), { code: DriverErrorCode.INVALID_ARGUMENT });
});

t.test('through a sim bus: a driver-style register round trip', async (t) => {
  const world = new SimI2cWorld();
  const chip = new SimRegisterChip({ registers: { 0xd0: 0x60 } });
  world.attach(1, 0x76, chip);
  const bus = await world.open(1);
  t.equal(await bus.readByte(0x76, 0xd0), 0x60);
  await bus.writeBlock(0x76, 0x88, Buffer.of(1, 2, 3));
  t.same([...(await bus.readBlock(0x76, 0x88, 3))], [1, 2, 3]);
  await bus.writeByte(0x76, 0x8a, 9);
  t.same([...chip.getBlock(0x88, 3)], [1, 2, 9]);
  await bus.close();
});
