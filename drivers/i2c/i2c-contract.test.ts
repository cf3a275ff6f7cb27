import t from 'tap';
import { runI2cContract } from './i2c-contract.ts';
import { openI2cBus } from './i2c-bus-real.ts';
import { SimI2cWorld } from './sim-i2c-bus.ts';
import { SimRegisterChip } from './sim-register-chip.ts';

/** Retry pauses without waiting: the contract checks how many attempts happen, not how long they take. */
const instantClock = { setTimeout: (fn: () => void) => setImmediate(fn) };

t.test('sim binding', async (t) => {
  runI2cContract(t, async () => {
    const world = new SimI2cWorld();
    // A BME280's id register (datasheet §5.4.1: register 0xD0 "id" reads 0x60), read-only.
    world.attach(1, 0x76, new SimRegisterChip({ registers: { 0xd0: 0x60 }, readOnly: { 0xd0: 0xff } }));
    const bus = await world.open(1, { clock: instantClock });
    return { bus, known: { address: 0x76, register: 0xd0, value: 0x60 }, sim: { world, busNumber: 1 } };
  });
});

/**
 * On a board: OPENSTARRY_HW_I2C=/dev/i2c-1 names the bus, OPENSTARRY_HW_I2C_ADDR="0x76:0xD0=0x60" a device on it
 * and a register with a fixed value (here a BME280's chip id).
 */
const BUS_ENV = 'OPENSTARRY_HW_I2C';
const ADDR_ENV = 'OPENSTARRY_HW_I2C_ADDR';
const device = process.env[BUS_ENV];
const hwSkip = device ? false : `set ${BUS_ENV}=/dev/i2c-1 and ${ADDR_ENV}=0x76:0xD0=0x60 to run it`;
t.test(`i2c-bus binding on real hardware (${BUS_ENV})`, { skip: hwSkip }, async (t) => {
  const busMatch = /^\/dev\/i2c-(\d+)$/.exec((device ?? '').trim());
  const spec = process.env[ADDR_ENV] ?? '';
  const known = /^\s*(0x[0-9a-f]+|\d+)\s*:\s*(0x[0-9a-f]+|\d+)\s*=\s*(0x[0-9a-f]+|\d+)\s*$/i.exec(spec);
  if (!busMatch) {
    t.fail(`${BUS_ENV} must be a device path like /dev/i2c-1, got "${String(device)}"`);
    return;
  }
  if (!known) {
    t.fail(`${ADDR_ENV} must name a device and a fixed register, like 0x76:0xD0=0x60 (got "${spec}")`);
    return;
  }
  const busNumber = Number(busMatch[1]);
  const [address, register, value] = [known[1], known[2], known[3]].map((n) => Number(n));
  runI2cContract(t, async () => ({
    bus: await openI2cBus(busNumber),
    known: { address: address ?? 0, register: register ?? 0, value: value ?? 0 },
  }));
});
