// The profile schema's cross-field rules, each broken once on a valid base (the shipped sim profile).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { PROFILES_DIR, parseProfile } from './detect.ts';
import type { ProfileProblem } from './errors.ts';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- test fixtures are edited freely
const base = JSON.parse(await readFile(path.join(PROFILES_DIR, 'sim.json'), 'utf8')) as Json;

/** Problems of the sim profile after `edit`; [] when it is still valid. */
function problems(edit: (p: Json) => void): ProfileProblem[] {
  const copy = structuredClone(base);
  edit(copy);
  const result = parseProfile(copy);
  return 'problems' in result ? result.problems : [];
}

t.test('the base is valid and defaults are applied', async (t) => {
  const result = parseProfile(base);
  if (!('profile' in result)) throw new Error(JSON.stringify(result.problems));
  t.same(result.profile.gpio.header.find((h) => h.pin === 11)?.aliases, [], 'aliases default to []');
  const minimal = parseProfile({ ...base, devices: undefined, sources: undefined, notes: undefined });
  t.ok('profile' in minimal && minimal.profile.devices.length === 0, 'devices default to []');
});

t.test('every object is strict: an unknown key is named with its path', async (t) => {
  t.same(problems((p) => (p.gpio.header[0].lin = 3)), [{ path: 'gpio.header.0.lin', message: 'unknown key "lin"' }]);
  t.same(problems((p) => (p.camera.fps = 3)), [{ path: 'camera.fps', message: 'unknown key "fps"' }]);
});

t.test('header pins, names and (chip, line) pairs are unique', async (t) => {
  t.match(problems((p) => (p.gpio.header[1].pin = 3)), [{ path: 'gpio.header.1.pin', message: 'duplicate header pin "3" (also at index 0)' }]);
  t.match(problems((p) => (p.gpio.header[1].line = 2)), [{ path: 'gpio.header.1.line', message: 'duplicate chip line "sim-gpio:2" (also at index 0)' }]);
  t.match(problems((p) => (p.gpio.header[1].name = 'gpio2')), [{ path: 'gpio.header.1.name', message: /duplicate pin name or alias "gpio2"/ }]);
  t.match(problems((p) => (p.gpio.header[1].aliases = ['ID_SD'])), [{ path: 'gpio.header.17.name', message: /duplicate pin name or alias "id_sd" \(also at index 1\)/ }]);
  t.match(problems((p) => (p.gpio.power[0].pin = 3)), [{ path: 'gpio.header.0.pin', message: 'pin 3 is also listed as a power pin' }]);
});

t.test('header chips are declared, and lines are inside the chip', async (t) => {
  t.match(problems((p) => (p.gpio.header[0].chip = 'pinctrl-bcm2711')), [{ path: 'gpio.header.0.chip', message: 'chip "pinctrl-bcm2711" is not declared in gpio.chips' }]);
  t.match(problems((p) => (p.gpio.header[0].line = 54)), [{ path: 'gpio.header.0.line', message: 'line 54 is out of range for "sim-gpio" (54 lines)' }]);
  t.match(problems((p) => delete p.gpio.header[0].line), [{ path: 'gpio.header.0', message: 'chip and line go together: both or neither' }]);
  t.match(problems((p) => p.gpio.chips.push({ label: 'sim-gpio', lines: 8 })), [{ path: 'gpio.chips.1.label', message: /duplicate chip label/ }]);
  t.match(problems((p) => (p.gpio.chips[0].label = 'bad label')), [{ path: 'gpio.chips.0.label' }]);
  t.match(problems((p) => (p.gpio.header[0].pin = 41)), [{ path: 'gpio.header.0.pin' }]);
});

t.test('I²C and serial pins must be on the header', async (t) => {
  t.same(problems((p) => (p.i2c[0].sdaPin = 1)), [{ path: 'i2c.0.sdaPin', message: 'pin 1 is not listed in gpio.header' }]);
  t.same(problems((p) => (p.serial[0].rxPin = 2)), [{ path: 'serial.0.rxPin', message: 'pin 2 is not listed in gpio.header' }]);
  t.match(problems((p) => delete p.serial[0].rxPin), [{ path: 'serial.0', message: 'txPin and rxPin go together: both or neither' }]);
  t.same(problems((p) => p.serial.push({ name: 'debug', device: '/dev/ttyAMA10' })), [], 'a port off the header has no pins');
  t.match(problems((p) => p.i2c.push({ ...p.i2c[0], name: 'i2c-2' })), [{ path: 'i2c.1.bus', message: /duplicate I²C bus "1"/ }]);
  t.match(problems((p) => (p.serial[0].device = 'ttyS0')), [{ path: 'serial.0.device', message: 'must be a /dev/ path' }]);
});

t.test('stream command placeholders are checked; thermal paths are absolute or sim:', async (t) => {
  t.same(problems((p) => (p.camera.streamCommand = ['rpicam-vid', '--width', '{widht}'])), [
    { path: 'camera.streamCommand.2', message: 'unknown placeholder "{widht}" (known: {device}, {width}, {height}, {fps})' },
  ]);
  t.same(problems((p) => (p.camera.streamCommand = ['ffmpeg', '-s', '{width}x{height}', '-r', '{fps}', '-i', '{device}'])), []);
  t.match(problems((p) => (p.thermal[0].path = 'thermal_zone0/temp')), [{ path: 'thermal.0.path' }]);
  t.match(problems((p) => (p.camera.stack = 'gstreamer')), [{ path: 'camera.stack' }]);
});

t.test('default devices: unique ids, and pins, buses and ports this board has', async (t) => {
  t.match(problems((p) => (p.devices[1].id = 'env0')), [{ path: 'devices.1.id', message: 'duplicate device id "env0" (also at index 0)' }]);
  t.same(problems((p) => (p.devices[1].pin = 6)), [{ path: 'devices.1.pin', message: 'a GND pin (power/ground), not a GPIO' }]);
  t.match(problems((p) => (p.devices[1].pin = 'GPIO99')), [{ path: 'devices.1.pin', message: /no header pin or line is named "GPIO99"/ }]);
  t.match(problems((p) => (p.devices[1].pin = true)), [{ path: 'devices.1.pin', message: /header pin number or a line name/ }]);
  t.same(problems((p) => (p.devices[1].pin = 'GPIO17')), [], 'a line name works as well as a pin number');
  t.same(problems((p) => (p.devices[0].bus = 3)), [{ path: 'devices.0.bus', message: 'no I²C bus 3 on this board (buses: 1)' }]);
  t.same(problems((p) => (p.devices[0].bus = 'i2c-1')), []);
  t.same(problems((p) => (p.devices[4].port = 'uart1')), [{ path: 'devices.4.port', message: 'no serial port "uart1" on this board (ports: serial0)' }]);
  t.match(problems((p) => (p.devices[0].id = 'Env 0')), [{ path: 'devices.0.id' }]);
  t.match(problems((p) => delete p.devices[0].driver), [{ path: 'devices.0.driver' }]);
});
