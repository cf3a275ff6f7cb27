import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import t from 'tap';
import { DriverErrorCode } from '../errors.ts';
import { readBytes } from './serial-contract.ts';
import { SimSerialBinding } from './sim-serial.ts';

const BAUD = { baudRate: 9600 } as const;

t.test('every open hands the device a fresh far end; the device sees end-of-stream on close', async (t) => {
  const binding = new SimSerialBinding();
  const ends: Duplex[] = [];
  binding.attach('/dev/ttyGPS', (port) => ends.push(port));

  const first = await binding.open('/dev/ttyGPS', BAUD);
  t.equal(ends.length, 1);
  t.ok(binding.isOpen('/dev/ttyGPS'));
  const far = ends[0]!;
  const farEnded = once(far, 'end');
  far.resume();
  await first.close();
  await farEnded;
  t.notOk(binding.isOpen('/dev/ttyGPS'), 'the simulated lock is released');

  // A device that keeps transmitting into a closed port (a GPS does) must not crash anything.
  const errors: Error[] = [];
  far.on('error', (err) => errors.push(err));
  await new Promise<void>((resolve) => far.write('$GPGGA,late\r\n', () => resolve()));
  t.same(errors, [], 'writes after close are dropped, like bytes on a wire nobody listens to');

  const second = await binding.open('/dev/ttyGPS', BAUD);
  t.teardown(() => second.close());
  t.equal(ends.length, 2);
  t.not(ends[1], far, 'a new far end');
  const line = readBytes(second.stream, 6);
  ends[1]!.write('$GPRMC');
  t.equal((await line).toString(), '$GPRMC');
});

t.test('attaching two devices at one path throws', async (t) => {
  const binding = new SimSerialBinding();
  binding.attach('/dev/ttyS0', () => undefined);
  t.throws(() => binding.attach('/dev/ttyS0', () => undefined), { code: DriverErrorCode.INVALID_ARGUMENT });
});

t.test('a device that throws on open fails the open and leaves the path free', async (t) => {
  const binding = new SimSerialBinding();
  let fail = true;
  binding.attach('/dev/ttyS1', () => {
    if (fail) throw new Error('sim device bug');
  });
  await t.rejects(binding.open('/dev/ttyS1', BAUD), { code: DriverErrorCode.OPEN_FAILED, cause: { message: 'sim device bug' } });
  t.notOk(binding.isOpen('/dev/ttyS1'));
  fail = false;
  const port = await binding.open('/dev/ttyS1', BAUD);
  await port.close();
});

t.test('the device ending its side is end-of-stream for the host reader', async (t) => {
  const binding = new SimSerialBinding();
  binding.attach('/dev/ttyS2', (port) => port.end('bye'));
  const port = await binding.open('/dev/ttyS2', BAUD);
  t.teardown(() => port.close());
  const chunks: Buffer[] = [];
  port.stream.on('data', (c: Buffer) => chunks.push(c));
  await once(port.stream, 'end');
  t.equal(Buffer.concat(chunks).toString(), 'bye');
});

t.test('close does not hang on a device that floods a port nobody reads', async (t) => {
  const binding = new SimSerialBinding();
  let far: Duplex | undefined;
  binding.attach('/dev/ttyS3', (port) => (far = port));
  const port = await binding.open('/dev/ttyS3', BAUD);
  // Fill the host side until the device's writes hit backpressure.
  while (far!.write(Buffer.alloc(4096, 0x55)));
  const pendingWrite = new Promise<void>((resolve) => far!.write(Buffer.alloc(4096), () => resolve()));
  await port.close();
  await pendingWrite;
  t.pass('the blocked device write was released by close');
});

t.test('destroying the stream releases the port', async (t) => {
  const binding = new SimSerialBinding();
  binding.attach('/dev/ttyS4', () => undefined);
  const port = await binding.open('/dev/ttyS4', BAUD);
  port.stream.destroy();
  await once(port.stream, 'close');
  await port.close();
  t.notOk(binding.isOpen('/dev/ttyS4'));
});
