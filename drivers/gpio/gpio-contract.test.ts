import t from 'tap';
import { runGpioContract } from './gpio-contract.ts';
import { createOnoffGpioBus } from './onoff-gpio-bus.ts';
import { createSimGpioBus } from './sim-gpio-bus.ts';

t.test('sim binding', async (t) => {
  runGpioContract(t, async () => {
    const sim = createSimGpioBus();
    return {
      bus: sim,
      lines: { output: 17, input: 27 },
      drive: (line, value) => sim.drive(line, value),
      level: (line) => sim.level(line),
    };
  });
});

/**
 * On a board: OPENSTARRY_HW_GPIO="out=17,in=27" names two sysfs line numbers (gpiochip base + offset; see the
 * board profile) whose header pins are jumpered together.
 */
const HW_ENV = 'OPENSTARRY_HW_GPIO';
const hw = process.env[HW_ENV];
const hwSkip = hw ? false : `set ${HW_ENV}="out=<sysfs>,in=<sysfs>" (two jumpered lines) to run it`;
t.test(`onoff binding on real hardware (${HW_ENV})`, { skip: hwSkip }, async (t) => {
  const match = /^\s*out=(\d+)\s*,\s*in=(\d+)\s*$/.exec(hw ?? '');
  if (!match) {
    t.fail(`${HW_ENV} must look like "out=17,in=27", got "${String(hw)}"`);
    return;
  }
  const lines = { output: Number(match[1]), input: Number(match[2]) };
  runGpioContract(t, async () => ({ bus: createOnoffGpioBus(), lines }));
});
