import type { Duplex } from 'node:stream';
import t from 'tap';
import { SerialPort } from 'serialport';
import { requireTool } from '../../scripts/testing/system-deps.ts';
import { startPtyPair } from './pty-pair.ts';
import { runSerialContract } from './serial-contract.ts';
import { SerialportBinding } from './serialport-binding.ts';
import { SimSerialBinding } from './sim-serial.ts';

t.test('sim binding', async (t) => {
  runSerialContract(t, async () => {
    const binding = new SimSerialBinding();
    let handOver: (port: Duplex) => void = () => undefined;
    const peer = new Promise<Duplex>((resolve) => (handOver = resolve));
    binding.attach('/dev/ttySIM0', (port) => handOver(port));
    return { binding, path: '/dev/ttySIM0', missingPath: '/dev/ttySIM9', peer: () => peer, teardown: async () => undefined };
  });
});

// The real binding on a real tty: socat links two ptys, serialport opens one, the test's device is a plain
// SerialPort (the library, not our wrapper) on the other.
t.test('serialport binding over a socat pty pair', async (t) => {
  if (!requireTool(t, 'socat', 'socat')) return;
  runSerialContract(t, async () => {
    const pty = await startPtyPair();
    const device = new SerialPort({ path: pty.b, baudRate: 115200, autoOpen: false });
    try {
      await new Promise<void>((resolve, reject) => device.open((err) => (err ? reject(err) : resolve())));
    } catch (err) {
      await pty.close();
      throw err;
    }
    return {
      binding: new SerialportBinding(),
      path: pty.a,
      missingPath: `${pty.a}-missing`,
      peer: async () => device,
      teardown: async () => {
        if (device.isOpen) await new Promise<void>((resolve) => device.close(() => resolve()));
        await pty.close();
      },
    };
  });
});
