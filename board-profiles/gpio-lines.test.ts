// Header pin -> sysfs number against fixture /sys/class/gpio trees shaped like the real boards' (docs/ARCHITECTURE.md "HAL and devices":
// the sysfs number is the chip's runtime base + line; since Linux 6.6 the base is no longer 0).
import t from 'tap';
import { loadProfiles } from './detect.ts';
import { BoardErrorCode } from './errors.ts';
import { GpioLineResolver, readGpioChips } from './gpio-lines.ts';
import type { BoardProfile } from './profile-schema.ts';

const profiles = await loadProfiles();
const profile = (name: string): BoardProfile => {
  const p = profiles.get(name);
  if (!p) throw new Error(`no shipped profile ${name}`);
  return p;
};

type Chip = [label: string, base: number, ngpio: number];
/** /sys/class/gpio as the kernel lays it out: export/unexport files and gpiochip<base>/{label,base,ngpio}. */
const sysfs = (...chips: Chip[]) => ({
  sys: {
    class: {
      gpio: {
        export: '',
        unexport: '',
        ...Object.fromEntries(chips.map(([label, base, ngpio]) => [`gpiochip${base}`, { label: `${label}\n`, base: `${base}\n`, ngpio: `${ngpio}\n` }])),
      },
    },
  },
});

t.test('Raspberry Pi 4 before 6.6: base 0, so pin 11 (GPIO17) is 17', async (t) => {
  const r = await GpioLineResolver.open(profile('rpi-4b'), t.testdir(sysfs(['pinctrl-bcm2711', 0, 58], ['raspberrypi-exp-gpio', 504, 8])));
  t.same(r.resolve(11), { sysfs: 17, chip: 'pinctrl-bcm2711', line: 17, pin: 11, name: 'GPIO17' });
  t.same(r.warnings, []);
});

t.test('Raspberry Pi 4 on 6.6+: base 512, so GPIO17 is 529, by pin, name, string pin and chip:line', async (t) => {
  const r = await GpioLineResolver.open(profile('rpi-4b'), t.testdir(sysfs(['pinctrl-bcm2711', 512, 58], ['raspberrypi-exp-gpio', 570, 8])));
  const want = { sysfs: 529, chip: 'pinctrl-bcm2711', line: 17, pin: 11, name: 'GPIO17' };
  t.same(r.resolve(11), want);
  t.same(r.resolve('11'), want);
  t.same(r.resolve('GPIO17'), want);
  t.same(r.resolve('gpio17'), want, 'names are case-insensitive');
  t.same(r.resolve('pinctrl-bcm2711:17'), want);
  t.same(r.resolve('ID_SD'), { sysfs: 512, chip: 'pinctrl-bcm2711', line: 0, pin: 27, name: 'GPIO0' }, 'aliases resolve');
  t.same(r.resolve('pinctrl-bcm2711:42'), { sysfs: 554, chip: 'pinctrl-bcm2711', line: 42 }, 'a line off the header has no pin');
  t.equal(r.headerLines().length, 28, 'the 28 GPIOs of the 40-pin header');
});

t.test('Raspberry Pi 3B+ and Zero 2 W use the pinctrl-bcm2835 label', async (t) => {
  const dir = t.testdir({
    old: sysfs(['pinctrl-bcm2835', 0, 54], ['raspberrypi-exp-gpio', 504, 8]),
    new: sysfs(['pinctrl-bcm2835', 512, 54], ['brcmvirt-gpio', 566, 2], ['raspberrypi-exp-gpio', 568, 8]),
  });
  t.equal((await GpioLineResolver.open(profile('rpi-3b-plus'), `${dir}/old`)).resolve(40).sysfs, 21);
  t.equal((await GpioLineResolver.open(profile('rpi-3b-plus'), `${dir}/new`)).resolve(40).sysfs, 533);
  t.equal((await GpioLineResolver.open(profile('rpi-zero-2-w'), `${dir}/new`)).resolve('GPIO26').sysfs, 538);
});

t.test('Raspberry Pi 5: the header is on pinctrl-rp1, found by label among the BCM2712 chips', async (t) => {
  const root = t.testdir(sysfs(
    ['gpio-brcmstb@107d508500', 512, 32], ['gpio-brcmstb@107d508520', 544, 4], ['gpio-brcmstb@107d517c00', 548, 17],
    ['gpio-brcmstb@107d517c20', 565, 6], ['pinctrl-rp1', 571, 54],
  ));
  const r = await GpioLineResolver.open(profile('rpi-5'), root);
  t.same(r.resolve(11), { sysfs: 588, chip: 'pinctrl-rp1', line: 17, pin: 11, name: 'GPIO17' });
  t.equal(r.resolve(7).sysfs, 575, 'GPIO4');
  t.equal(r.resolve(3).sysfs, 573, 'GPIO2 (I²C SDA) is still a GPIO line on a Pi');
});

t.test('gpiochip entries may be symlinks, as in the real /sys/class/gpio', async (t) => {
  const root = t.testdir({
    sys: {
      devices: { rp1: { gpiochip571: { label: 'pinctrl-rp1\n', base: '571\n', ngpio: '54\n' } } },
      class: { gpio: { gpiochip571: t.fixture('symlink', '../../devices/rp1/gpiochip571') } },
    },
  });
  t.same(await readGpioChips(root), [{ label: 'pinctrl-rp1', base: 571, ngpio: 54 }]);
  t.equal((await GpioLineResolver.open(profile('rpi-5'), root)).resolve('GPIO17').sysfs, 588);
});

t.test('Jetson Nano (L4T 32.x): tegra-gpio at base 0, so the legacy numbers hold (pin 7 = gpio216)', async (t) => {
  const r = await GpioLineResolver.open(profile('jetson-nano'), t.testdir(sysfs(['tegra-gpio', 0, 256], ['max77620-gpio', 504, 8])));
  t.same(r.resolve(7), { sysfs: 216, chip: 'tegra-gpio', line: 216, pin: 7, name: 'GPIO9' });
  t.equal(r.resolve('PBB.00').sysfs, 216, 'Tegra port name');
  t.equal(r.resolve('tegra-gpio:216').pin, 7);
  t.equal(r.resolve(33).sysfs, 38);
  t.equal(r.resolve('max77620-gpio:3').sysfs, 507, 'the second chip');
  t.equal(r.headerLines().length, 22);
});

t.test('Jetson Orin Nano (JetPack 5/6): two chips, the AON one first, main tegra234-gpio at 348', async (t) => {
  const r = await GpioLineResolver.open(profile('jetson-orin-nano'), t.testdir(sysfs(['tegra234-gpio-aon', 316, 32], ['tegra234-gpio', 348, 164])));
  t.same(r.resolve(7), { sysfs: 492, chip: 'tegra234-gpio', line: 144, pin: 7, name: 'GPIO09' });
  t.equal(r.resolve('PN.01').sysfs, 433, 'pin 15');
  t.equal(r.resolve('tegra234-gpio-aon:5').sysfs, 321);
  t.equal(r.resolve(40).sysfs, 399);
});

t.test('the sim board resolves without any sysfs: base 0, or injected bases', async (t) => {
  const r = await GpioLineResolver.open(profile('sim'), t.testdir({}));
  t.same(r.resolve(11), { sysfs: 17, chip: 'sim-gpio', line: 17, pin: 11, name: 'GPIO17' });
  t.equal(r.resolve(13).sysfs, 27);
  const shifted = await GpioLineResolver.open(profile('sim'), '/', { bases: { 'sim-gpio': 512 } });
  t.equal(shifted.resolve('GPIO17').sysfs, 529);
  const injected = GpioLineResolver.withBases(profile('rpi-4b'), { 'pinctrl-bcm2711': 512 });
  t.equal(injected.resolve(11).sysfs, 529, 'bases can replace sysfs for a real profile too');
  t.throws(() => GpioLineResolver.withBases(profile('rpi-4b'), {}).resolve(11), {
    code: BoardErrorCode.GPIOCHIP_NOT_FOUND,
    message: 'pin 11 on board "rpi-4b": no base given for gpiochip "pinctrl-bcm2711"',
  });
});

t.test('pins that are not GPIOs, or not there: errors name the pin and the board', async (t) => {
  const pi = GpioLineResolver.withBases(profile('rpi-4b'), { 'pinctrl-bcm2711': 512 });
  t.throws(() => pi.resolve(6), { code: BoardErrorCode.PIN_NOT_GPIO, message: 'pin 6 on board "rpi-4b": a GND pin (power/ground), not a GPIO' });
  t.throws(() => pi.resolve('1'), { code: BoardErrorCode.PIN_NOT_GPIO, message: /^pin "1" on board "rpi-4b": a 3V3 pin/ });
  t.throws(() => pi.resolve(41), { code: BoardErrorCode.PIN_UNKNOWN, message: /^pin 41 on board "rpi-4b": not a listed header pin \(header pins: 3, 5, 7, / });
  t.throws(() => pi.resolve(11.5), { code: BoardErrorCode.PIN_UNKNOWN, message: 'pin 11.5 on board "rpi-4b": not an integer' });
  t.throws(() => pi.resolve('GPIO99'), { code: BoardErrorCode.PIN_UNKNOWN, message: /^pin "GPIO99" on board "rpi-4b": no header pin or line is named "GPIO99" \(names: GPIO2, / });
  t.throws(() => pi.resolve(' '), { code: BoardErrorCode.PIN_UNKNOWN, message: 'pin " " on board "rpi-4b": empty pin name' });
  t.throws(() => pi.resolve('pinctrl-bcm2711:58'), { message: 'pin "pinctrl-bcm2711:58" on board "rpi-4b": line 58 is out of range for "pinctrl-bcm2711" (58 lines)' });
  t.throws(() => pi.resolve('pinctrl-rp1:17'), { message: 'pin "pinctrl-rp1:17" on board "rpi-4b": no gpiochip "pinctrl-rp1" on this board (chips: pinctrl-bcm2711)' });
  t.throws(() => pi.resolve('pinctrl-bcm2711:x'), { message: 'pin "pinctrl-bcm2711:x" on board "rpi-4b": the line after ":" must be a number' });
  const nano = GpioLineResolver.withBases(profile('jetson-nano'), { 'tegra-gpio': 0, 'max77620-gpio': 504 });
  t.throws(() => nano.resolve(3), {
    code: BoardErrorCode.PIN_NOT_GPIO,
    message: 'pin 3 on board "jetson-nano": header pin 3 (I2C1_SDA) is a dedicated pin, not a GPIO line (functions: i2c1-sda)',
  });
});

t.test('the profile chip is not under /sys/class/gpio: the error lists the labels that are', async (t) => {
  const pi5 = t.testdir(sysfs(['gpio-brcmstb@107d508500', 512, 32], ['pinctrl-rp1', 571, 54]));
  await t.rejects(GpioLineResolver.open(profile('rpi-4b'), pi5), {
    code: BoardErrorCode.GPIOCHIP_NOT_FOUND,
    message: `board "rpi-4b": gpiochip "pinctrl-bcm2711" not found under ${pi5}/sys/class/gpio (found: gpio-brcmstb@107d508500@512, pinctrl-rp1@571)`,
  });
  const none = t.testdir({ sys: { class: {} } });
  await t.rejects(GpioLineResolver.open(profile('rpi-4b'), none), { code: BoardErrorCode.GPIOCHIP_NOT_FOUND, message: /cannot list .*sys\/class\/gpio: .*without GPIO sysfs/ });
});

t.test('a declared chip the header does not use may be missing: open works, using it fails clearly', async (t) => {
  const root = t.testdir(sysfs(['tegra234-gpio', 348, 164]));
  const r = await GpioLineResolver.open(profile('jetson-orin-nano'), root);
  t.equal(r.resolve(7).sysfs, 492);
  t.throws(() => r.resolve('tegra234-gpio-aon:0'), { code: BoardErrorCode.GPIOCHIP_NOT_FOUND, message: /gpiochip "tegra234-gpio-aon" not found .*\(found: tegra234-gpio@348\)/ });
});

t.test('two chips with the same label are ambiguous; a line-count mismatch is a warning', async (t) => {
  const dup = t.testdir(sysfs(['pinctrl-bcm2711', 0, 58], ['pinctrl-bcm2711', 512, 58]));
  await t.rejects(GpioLineResolver.open(profile('rpi-4b'), dup), { message: /2 gpiochips under .* are labelled "pinctrl-bcm2711" \(bases 0, 512\)/ });
  const odd = await GpioLineResolver.open(profile('rpi-4b'), t.testdir(sysfs(['pinctrl-bcm2711', 512, 54])));
  t.same(odd.warnings, ['gpiochip "pinctrl-bcm2711" has 54 lines, the rpi-4b profile says 58']);
  t.equal(odd.resolve(11).sysfs, 529);
});

t.test('readGpioChips skips entries without a readable label or base, and sorts by base', async (t) => {
  const root = t.testdir({
    sys: { class: { gpio: { gpiochip600: { label: 'b\n', base: '600\n', ngpio: '4\n' }, gpiochip0: { label: 'a\n', base: '0\n' }, gpiochip9: { base: '9\n' }, gpiochip7: { label: 'x', base: 'seven' } } } },
  });
  t.same(await readGpioChips(root), [{ label: 'a', base: 0, ngpio: 0 }, { label: 'b', base: 600, ngpio: 4 }]);
});
