import { once } from 'node:events';
import { Duplex, PassThrough } from 'node:stream';
import t from 'tap';
import { ManualClock } from '../camera/manual-clock.ts';
import { DriverErrorCode } from '../errors.ts';
import { SerialStream, type SerialLink } from './serial-stream.ts';

function fakeLink(raw: Duplex): SerialLink & { closes: number } {
  const link = {
    raw,
    closes: 0,
    drain: async () => undefined,
    close: async () => {
      link.closes++;
    },
  };
  return link;
}

t.test('the port vanishing underneath (USB unplug) is an ERR_DRIVER_IO error', async (t) => {
  const raw = new PassThrough();
  const link = fakeLink(raw);
  const stream = new SerialStream('/dev/ttyUSB0', link);
  const errored = once(stream, 'error');
  raw.emit('close', Object.assign(new Error('Disconnected'), { disconnected: true }));
  const [err] = (await errored) as [Error];
  t.match(err, { code: DriverErrorCode.IO, message: /ttyUSB0: Disconnected/, cause: { disconnected: true } });
  t.ok(link.closes >= 1, 'the port was released');
  await stream.close();
});

t.test('a failed write surfaces as ERR_DRIVER_IO with the cause kept', async (t) => {
  const raw = new Duplex({
    read() {},
    write(_chunk, _enc, cb) {
      cb(new Error('EIO'));
    },
  });
  const stream = new SerialStream('/dev/ttyS0', fakeLink(raw));
  const errored = once(stream, 'error');
  stream.write('x');
  t.match(await errored, [{ code: DriverErrorCode.IO, cause: { message: 'EIO' } }]);
  await stream.close();
});

t.test('close gives stuck writes flushTimeoutMs, then closes anyway without an error', async (t) => {
  const clock = new ManualClock();
  // A raw side whose writes never complete: a device holding flow control forever.
  const raw = new Duplex({ read() {}, write() {} });
  const link = fakeLink(raw);
  const stream = new SerialStream('/dev/ttyS0', link, { clock, flushTimeoutMs: 1000 });
  const errors: Error[] = [];
  stream.on('error', (e) => errors.push(e));
  stream.write('stuck');
  const closed = stream.close();
  await new Promise((r) => setImmediate(r));
  t.equal(link.closes, 0, 'still waiting for the write');
  t.equal(clock.pending, 1, 'one flush timer');
  clock.advance(1000);
  await closed;
  t.equal(link.closes, 1);
  t.same(errors, []);
});

t.test('a write that completes after the flush timeout does not turn close() into an error', async (t) => {
  const clock = new ManualClock();
  // The device takes the bytes only after close() gave up waiting (a loaded machine, a slow pty reader).
  let late: ((err?: Error | null) => void) | undefined;
  const raw = new Duplex({ read() {}, write(_chunk, _enc, cb) { late = cb; } });
  const stream = new SerialStream('/dev/ttyS0', fakeLink(raw), { clock, flushTimeoutMs: 1000 });
  const errors: Error[] = [];
  stream.on('error', (e) => errors.push(e));
  stream.write('slow');
  const closed = stream.close();
  await new Promise((r) => setImmediate(r));
  clock.advance(1000);
  await closed;
  late?.();
  await new Promise((r) => setImmediate(r));
  t.same(errors, [], "close()'s own flush barrier, reaching the closed stream late, is not an error");
});

t.test('a quick close clears its flush timer', async (t) => {
  const clock = new ManualClock();
  const stream = new SerialStream('/dev/ttyS0', fakeLink(new PassThrough()), { clock });
  await stream.close();
  t.equal(clock.pending, 0);
});

t.test('close after the caller ended its writing side still closes', async (t) => {
  const link = fakeLink(new PassThrough());
  const stream = new SerialStream('/dev/ttyS0', link);
  stream.end('last words');
  await stream.close();
  t.equal(link.closes, 1);
});
