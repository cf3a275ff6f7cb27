/**
 * The serial contract suite (docs/ARCHITECTURE.md "Contract, real and sim bindings"): what serial-port.ts promises, checked the same way against every
 * ISerialBinding. Run against the sim always and against the real serialport binding over a socat pty pair.
 */
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import type { Test } from 'tap';
import { DriverErrorCode } from '../errors.ts';
import type { ISerialBinding, ISerialPort } from './serial-port.ts';

export interface SerialContractFixture {
  binding: ISerialBinding;
  /** A path open() succeeds on, with the test's device on the far end. */
  path: string;
  /** A path where nothing exists. */
  missingPath: string;
  /** The device's end of `path`. The sim hands it out on open(), so this may only resolve after open(). */
  peer(): Promise<Duplex>;
  /** Releases what build() started (socat, the peer's port). */
  teardown(): Promise<void>;
}

const BAUD = { baudRate: 115200 } as const;

/** 64 KiB covering every byte value, including the ones a cooked tty would eat (^C, ^D, XON/XOFF, CR, NUL). */
export function testPattern(size = 64 * 1024, salt = 0): Buffer {
  const buf = Buffer.alloc(size);
  for (let i = 0; i < size; i++) buf[i] = (i * 131 + (i >>> 8) * 7 + salt) & 0xff;
  return buf;
}

/** Reads exactly `size` bytes from `stream` (failing if more arrive in the same chunk), then pauses it. */
export function readBytes(stream: Duplex, size: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let total = 0;
    const done = (err?: Error): void => {
      stream.off('data', onData).off('error', done).off('end', onEnd);
      stream.pause();
      if (err) reject(err);
      else resolve(Buffer.concat(parts, total));
    };
    const onData = (chunk: Buffer): void => {
      parts.push(chunk);
      total += chunk.length;
      if (total >= size) done(total > size ? new Error(`expected ${size} bytes, got ${total}`) : undefined);
    };
    const onEnd = (): void => done(new Error(`stream ended after ${total} of ${size} bytes`));
    stream.on('data', onData).on('error', done).on('end', onEnd);
    stream.resume();
  });
}

function writeAll(stream: Duplex, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => stream.write(data, (err) => (err ? reject(err) : resolve())));
}

export function runSerialContract(t: Test, build: () => Promise<SerialContractFixture>): void {
  const setup = async (tt: Test): Promise<SerialContractFixture> => {
    const fixture = await build();
    tt.teardown(() => fixture.teardown());
    return fixture;
  };
  const openPort = async (tt: Test, fixture: SerialContractFixture): Promise<ISerialPort> => {
    const port = await fixture.binding.open(fixture.path, BAUD);
    tt.teardown(() => port.close());
    return port;
  };

  t.test('open resolves with an open port on the path', async (t) => {
    const fixture = await setup(t);
    const port = await openPort(t, fixture);
    t.equal(port.path, fixture.path);
    t.ok(port.stream.readable && port.stream.writable, 'the stream is a live duplex');
  });

  t.test('round trip both ways, binary-safe, 64 KiB without loss', async (t) => {
    const fixture = await setup(t);
    const port = await openPort(t, fixture);
    const peer = await fixture.peer();

    const out = testPattern(64 * 1024, 1);
    const received = readBytes(peer, out.length);
    await writeAll(port.stream, out);
    t.ok((await received).equals(out), 'host -> device: every byte arrived, in order');

    const back = testPattern(64 * 1024, 2);
    const got = readBytes(port.stream, back.length);
    await writeAll(peer, back);
    t.ok((await got).equals(back), 'device -> host: every byte arrived, in order');
  });

  t.test('open of a missing path rejects with ERR_DRIVER_OPEN_FAILED', async (t) => {
    const fixture = await setup(t);
    await t.rejects(fixture.binding.open(fixture.missingPath, BAUD), { code: DriverErrorCode.OPEN_FAILED });
  });

  t.test('a second open while open rejects with ERR_DRIVER_OPEN_FAILED; after close it opens again', async (t) => {
    const fixture = await setup(t);
    const first = await fixture.binding.open(fixture.path, BAUD);
    t.teardown(() => first.close());
    await t.rejects(fixture.binding.open(fixture.path, BAUD), { code: DriverErrorCode.OPEN_FAILED }, 'busy');
    await first.close();
    const again = await openPort(t, fixture);
    t.equal(again.path, fixture.path, 'reopened');
  });

  t.test('invalid options reject with ERR_DRIVER_INVALID_ARGUMENT', async (t) => {
    const fixture = await setup(t);
    const code = DriverErrorCode.INVALID_ARGUMENT;
    await t.rejects(fixture.binding.open(fixture.path, { baudRate: 12345 }), { code }, 'non-standard baud rate');
    await t.rejects(fixture.binding.open(fixture.path, { baudRate: 9600, dataBits: 9 as 8 }), { code }, 'data bits');
    await t.rejects(fixture.binding.open(fixture.path, { baudRate: 9600, stopBits: 3 as 2 }), { code }, 'stop bits');
    await t.rejects(fixture.binding.open(fixture.path, { baudRate: 9600, parity: 'mark' as 'odd' }), { code }, 'parity');
    // Nothing was left open by the refused calls.
    const port = await openPort(t, fixture);
    t.equal(port.path, fixture.path);
  });

  t.test('close flushes writes that were still pending', async (t) => {
    const fixture = await setup(t);
    const port = await openPort(t, fixture);
    const peer = await fixture.peer();
    const out = testPattern(16 * 1024, 3);
    const received = readBytes(peer, out.length);
    port.stream.write(out);
    await port.close();
    t.ok((await received).equals(out), 'every byte written before close() reached the device');
  });

  t.test('close ends the stream, fails later writes with ERR_DRIVER_CLOSED, and is idempotent', async (t) => {
    const fixture = await setup(t);
    const port = await openPort(t, fixture);
    const ended = once(port.stream, 'end');
    port.stream.resume();

    const closes = [port.close(), port.close()];
    await Promise.all(closes);
    await ended;
    t.pass('the readable side ended');

    const errored = once(port.stream, 'error');
    const writeErr = await new Promise<Error | null | undefined>((resolve) => port.stream.write(Buffer.from('late'), resolve));
    t.match(writeErr, { code: DriverErrorCode.CLOSED }, 'a write after close fails');
    t.match(await errored, [{ code: DriverErrorCode.CLOSED }], "and surfaces as 'error' with a DriverError");
    await port.close();
    t.pass('a later close() resolves too');
  });
}
