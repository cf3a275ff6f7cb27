import t from 'tap';
import { DriverErrorCode } from '../errors.ts';
import { SerialportBinding } from './serialport-binding.ts';

t.test('a serialport that cannot load (no native addon) is ERR_DRIVER_UNAVAILABLE, and is retried', async (t) => {
  let loads = 0;
  const binding = new SerialportBinding({
    load: async () => {
      loads++;
      throw new Error('Could not locate the bindings file');
    },
  });
  await t.rejects(binding.open('/dev/ttyUSB0', { baudRate: 9600 }), {
    code: DriverErrorCode.UNAVAILABLE,
    cause: { message: 'Could not locate the bindings file' },
  });
  await t.rejects(binding.open('/dev/ttyUSB0', { baudRate: 9600 }), { code: DriverErrorCode.UNAVAILABLE });
  t.equal(loads, 2, 'a failed load is not cached');
});

t.test('options are validated before serialport is touched', async (t) => {
  const binding = new SerialportBinding({ load: async () => t.fail('must not load') as never });
  await t.rejects(binding.open('/dev/ttyUSB0', { baudRate: 9000 }), { code: DriverErrorCode.INVALID_ARGUMENT, message: /baudRate 9000/ });
  await t.rejects(binding.open('', { baudRate: 9600 }), { code: DriverErrorCode.INVALID_ARGUMENT, message: /path/ });
});

t.test('ENOENT from the real library is ERR_DRIVER_OPEN_FAILED with the cause kept', async (t) => {
  const binding = new SerialportBinding();
  const err = await binding.open('/nonexistent/ttyNOPE', { baudRate: 9600 }).catch((e: unknown) => e);
  t.match(err, { code: DriverErrorCode.OPEN_FAILED, message: /\/nonexistent\/ttyNOPE/ });
  t.match((err as Error).cause, { message: /No such file or directory/ });
});
