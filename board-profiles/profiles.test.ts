// The shipped profile files: each validates, the data agrees with itself across boards, and the sim board's
// default devices (docs/ARCHITECTURE.md "HAL and devices") reference hardware the sim header has.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { findI2cBus, findSerialPort } from './bus-lookup.ts';
import { PROFILES_DIR, loadProfileFile, loadProfiles } from './detect.ts';
import { BoardErrorCode } from './errors.ts';
import { GpioLineResolver } from './gpio-lines.ts';
import type { BoardProfile } from './profile-schema.ts';

const EXPECTED = ['jetson-nano', 'jetson-orin-nano', 'rpi-3b-plus', 'rpi-4b', 'rpi-5', 'rpi-zero-2-w', 'sim'];
const profiles = await loadProfiles();
const get = (name: string): BoardProfile => {
  const p = profiles.get(name);
  if (!p) throw new Error(`no shipped profile ${name}`);
  return p;
};

t.test('every shipped profile file validates against the schema, on its own', async (t) => {
  const files = (await readdir(PROFILES_DIR)).filter((f) => f.endsWith('.json')).sort();
  t.same(files, EXPECTED.map((n) => `${n}.json`));
  for (const file of files) {
    const profile = await loadProfileFile(path.join(PROFILES_DIR, file));
    t.equal(profile.name, path.basename(file, '.json'), file);
  }
});

t.test('every real board cites its sources, brings no default devices, and is matched by something', async (t) => {
  for (const p of profiles.values()) {
    if (p.name === 'sim') continue;
    t.ok((p.sources ?? []).length > 0, `${p.name} has sources`);
    t.same(p.devices, [], `${p.name}: default devices are a sim feature`);
    t.ok(p.match.model.length > 0 && p.match.compatible.length > 0, `${p.name} has model prefixes and compatibles`);
    t.ok(p.camera.streamCommand, `${p.name} has a camera stream command`);
  }
});

t.test('no two profiles claim the same model prefix; only SoC compatibles are shared', async (t) => {
  const owners = new Map<string, string[]>();
  for (const p of profiles.values()) for (const entry of [...p.match.model, ...p.match.compatible]) owners.set(entry, [...(owners.get(entry) ?? []), p.name]);
  const shared = [...owners].filter(([, names]) => names.length > 1).map(([entry, names]) => `${entry}: ${names.join(', ')}`);
  t.same(shared, ['brcm,bcm2837: rpi-3b-plus, rpi-zero-2-w']);
});

t.test('all 40-pin Raspberry Pis and the sim share one header: pin -> GPIOn -> line n', async (t) => {
  const shape = (p: BoardProfile) => p.gpio.header.map((h) => [h.pin, h.name, h.line]);
  const reference = shape(get('rpi-4b'));
  for (const name of ['rpi-3b-plus', 'rpi-zero-2-w', 'rpi-5', 'sim']) t.same(shape(get(name)), reference, name);
  const pin = (n: number) => get('rpi-4b').gpio.header.find((h) => h.pin === n);
  t.match(pin(11), { name: 'GPIO17', line: 17 });
  t.match(pin(7), { name: 'GPIO4', line: 4 });
  t.match(pin(40), { name: 'GPIO21', line: 21 });
  t.equal(reference.length, 28, '28 GPIOs + 12 power/ground pins = 40');
  for (const p of profiles.values()) t.equal(p.gpio.header.length + p.gpio.power.length, 40, `${p.name}: every pin of the 40 is listed once`);
});

t.test('chip labels per board', async (t) => {
  const labels = (name: string) => get(name).gpio.chips.map((c) => `${c.label}/${c.lines}`);
  t.same(labels('rpi-3b-plus'), ['pinctrl-bcm2835/54']);
  t.same(labels('rpi-zero-2-w'), ['pinctrl-bcm2835/54']);
  t.same(labels('rpi-4b'), ['pinctrl-bcm2711/58']);
  t.same(labels('rpi-5'), ['pinctrl-rp1/54']);
  t.same(labels('jetson-nano'), ['tegra-gpio/256', 'max77620-gpio/8']);
  t.same(labels('jetson-orin-nano'), ['tegra234-gpio/164', 'tegra234-gpio-aon/32']);
  t.same(labels('sim'), ['sim-gpio/54']);
});

t.test('Jetson header lines match NVIDIA Jetson.GPIO (spot checks across the header)', async (t) => {
  const lines = (name: string) => Object.fromEntries(get(name).gpio.header.filter((h) => h.line !== undefined).map((h) => [h.pin, h.line]));
  t.match(lines('jetson-nano'), { 7: 216, 11: 50, 12: 79, 13: 14, 15: 194, 16: 232, 29: 149, 31: 200, 32: 168, 33: 38, 40: 78 });
  t.match(lines('jetson-orin-nano'), { 7: 144, 11: 112, 12: 50, 13: 122, 15: 85, 29: 105, 31: 106, 32: 41, 33: 43, 40: 51 });
  for (const name of ['jetson-nano', 'jetson-orin-nano']) {
    const dedicated = get(name).gpio.header.filter((h) => h.line === undefined).map((h) => h.pin);
    t.same(dedicated, [3, 5, 8, 10, 27, 28], `${name}: I²C and UART pins carry no GPIO line`);
  }
});

t.test('the sim profile brings its default devices (docs/ARCHITECTURE.md "HAL and devices"), all resolvable on the sim header', async (t) => {
  const sim = get('sim');
  t.same(sim.devices, [
    { id: 'env0', driver: 'bme280', bus: 1, address: 0x76 },
    { id: 'fan', driver: 'relay', pin: 11, activeLow: false, safeState: 'off' },
    { id: 'pir', driver: 'pir', pin: 13, debounceMs: 50 },
    { id: 'cam0', driver: 'camera', device: 'sim', width: 320, height: 240, fps: 10 },
    { id: 'gps0', driver: 'gps-nmea', port: 'serial0', baudRate: 9600 },
  ]);
  const ids = sim.devices.map((d) => d.id);
  t.equal(new Set(ids).size, ids.length, 'unique ids');
  const gpio = await GpioLineResolver.open(sim, t.testdir({}));
  for (const d of sim.devices) {
    if (typeof d.pin === 'number') t.equal(gpio.resolve(d.pin).pin, d.pin, `${d.id}: header pin ${d.pin} exists and is a GPIO`);
    if (typeof d.bus === 'number') t.equal(findI2cBus(sim, d.bus).device, '/dev/sim-i2c-1', `${d.id}: bus ${d.bus}`);
    if (typeof d.port === 'string') t.equal(findSerialPort(sim, d.port).device, '/dev/sim-serial0', `${d.id}: port ${d.port}`);
  }
  t.same(sim.camera.stack, 'sim');
  t.same(sim.thermal.map((z) => z.path), ['sim:cpu-thermal']);
});

t.test('bus lookups by number, name or device; errors list what the board has', async (t) => {
  const orin = get('jetson-orin-nano');
  t.equal(findI2cBus(orin, 7).sdaPin, 3);
  t.equal(findI2cBus(orin, '7').sdaPin, 3);
  t.equal(findI2cBus(orin, 'i2c-1').sdaPin, 27);
  t.equal(findI2cBus(orin, '/dev/i2c-1').bus, 1);
  t.throws(() => findI2cBus(orin, 0), { code: BoardErrorCode.BUS_UNKNOWN, message: 'I²C bus 0 on board "jetson-orin-nano": no such bus (buses: 7 (pins 3/5), 1 (pins 27/28))' });
  t.equal(findSerialPort(get('jetson-nano'), 'uart1').device, '/dev/ttyTHS1');
  t.equal(findSerialPort(get('rpi-5'), '/dev/ttyAMA0').name, 'uart0');
  t.throws(() => findSerialPort(get('rpi-4b'), 'uart1'), { code: BoardErrorCode.BUS_UNKNOWN, message: 'serial port "uart1" on board "rpi-4b": no such port (ports: serial0 (/dev/serial0))' });
});
