import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import t from 'tap';
import { DriverErrorCode } from '../errors.ts';
import type { CameraFrame } from './camera-source.ts';
import { ManualClock } from './manual-clock.ts';
import { MjpegCommandSource, type SpawnFn } from './mjpeg-command-source.ts';

const FRAME = readFileSync(new URL('./sim-frames/frame-1.jpg', import.meta.url));
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A child process that does what the test tells it: emit stdout/stderr, exit, react (or not) to signals. */
class FakeChild extends EventEmitter {
  static nextPid = 1000;
  readonly pid = FakeChild.nextPid++;
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  readonly signals: string[] = [];
  /** Exit when signalled with one of these. */
  diesOn = new Set(['SIGTERM', 'SIGKILL']);
  exited = false;

  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    if (this.exited) return false;
    this.signals.push(signal);
    if (this.diesOn.has(signal)) queueMicrotask(() => this.exit(null, signal));
    return true;
  }

  exit(code: number | null, signal: NodeJS.Signals | null = null): void {
    if (this.exited) return;
    this.exited = true;
    this.emit('exit', code, signal);
    this.stdout.end();
    this.stderr.end();
    this.emit('close', code, signal);
  }
}

function fakeSpawn(): { spawn: SpawnFn; children: FakeChild[]; calls: { command: string; args: readonly string[] }[] } {
  const children: FakeChild[] = [];
  const calls: { command: string; args: readonly string[] }[] = [];
  const spawn: SpawnFn = (command, args) => {
    calls.push({ command, args });
    const child = new FakeChild();
    children.push(child);
    return child;
  };
  return { spawn, children, calls };
}

function source(extra: Partial<ConstructorParameters<typeof MjpegCommandSource>[0]> = {}) {
  const clock = new ManualClock();
  const fake = fakeSpawn();
  const src = new MjpegCommandSource({ id: 'cam0', spawn: fake.spawn, clock, ...extra });
  return { src, clock, ...fake };
}

t.test('the default command reads MJPEG from the V4L2 device at the configured size and rate', async (t) => {
  const { src, calls } = source({ device: '/dev/video2', width: 1280, height: 720, fps: 30 });
  const off = src.subscribe(() => undefined);
  t.equal(calls.length, 1);
  t.equal(calls[0]!.command, 'ffmpeg');
  t.match(calls[0]!.args.join(' '), '-f v4l2 -input_format mjpeg -video_size 1280x720 -framerate 30 -i /dev/video2 -f mjpeg');
  t.equal(calls[0]!.args.at(-1), '-', 'to stdout');
  off();
  await src.close();
});

t.test('one process for all subscribers; frames split from stdout with seq and clock time', async (t) => {
  const { src, clock, children, calls } = source({ command: ['cam-cmd', '--mjpeg'] });
  const a: CameraFrame[] = [];
  const b: CameraFrame[] = [];
  const offA = src.subscribe((f) => a.push(f));
  const offB = src.subscribe((f) => b.push(f));
  t.same(calls, [{ command: 'cam-cmd', args: ['--mjpeg'] }], 'the configured argv, spawned once');
  const child = children[0]!;
  child.stdout.write(FRAME.subarray(0, 1000));
  child.stdout.write(Buffer.concat([FRAME.subarray(1000), FRAME.subarray(0, 10)]));
  clock.advance(40);
  child.stdout.write(FRAME.subarray(10));
  await tick();
  t.equal(a.length, 2);
  t.same(b.map((f) => f.seq), [1, 2]);
  t.ok(a.every((f) => f.jpeg.equals(FRAME)));
  t.equal(a[1]!.at - a[0]!.at, 40);
  offA();
  t.same(child.signals, [], 'still one subscriber');
  offB();
  t.same(child.signals, ['SIGTERM'], 'the last unsubscribe stops it');
  await src.idle();
  t.equal(clock.pending, 0, 'no timer left behind');
});

t.test('a process that ignores SIGTERM gets SIGKILL after killTimeoutMs', async (t) => {
  const { src, clock, children } = source({ killTimeoutMs: 3000 });
  const off = src.subscribe(() => undefined);
  const child = children[0]!;
  child.diesOn = new Set(['SIGKILL']);
  off();
  clock.advance(2999);
  t.same(child.signals, ['SIGTERM']);
  clock.advance(1);
  t.same(child.signals, ['SIGTERM', 'SIGKILL']);
  await src.idle();
  t.notOk(src.streaming);
  t.equal(clock.pending, 0);
});

t.test('an exit while subscribed is an ERR_DRIVER_IO with stderr (bounded); the next subscribe restarts', async (t) => {
  const { src, children } = source({ stderrLimitBytes: 32 });
  const errors: Error[] = [];
  src.subscribe(
    () => undefined,
    (e) => errors.push(e),
  );
  const child = children[0]!;
  child.stderr.write('x'.repeat(1000));
  child.stderr.write('/dev/video0: Device or resource busy\n');
  await tick();
  child.exit(1);
  await src.idle();
  t.equal(errors.length, 1);
  t.match(errors[0], { code: DriverErrorCode.IO, message: /exited with code 1: .*Device or resource busy/ });
  t.notMatch(errors[0]!.message, /x{40}/, 'only the tail of stderr is kept');
  t.notOk(src.streaming, 'the dead stream dropped its subscribers');

  const frames: CameraFrame[] = [];
  const off = src.subscribe((f) => frames.push(f));
  t.equal(children.length, 2, 'a fresh process');
  children[1]!.stdout.write(FRAME);
  await tick();
  t.equal(frames.length, 1);
  off();
  await src.close();
});

t.test('a command that cannot be started is ERR_DRIVER_UNAVAILABLE (real spawn)', async (t) => {
  const src = new MjpegCommandSource({ id: 'cam0', command: ['/nonexistent/mjpeg-streamer'] });
  t.teardown(() => src.close());
  const err = await new Promise<Error>((resolve) => src.subscribe(() => undefined, resolve));
  t.match(err, { code: DriverErrorCode.UNAVAILABLE, message: /mjpeg-streamer/, cause: { code: 'ENOENT' } });
  await src.idle();
});

t.test('a subscriber arriving while the old process stops waits for it (the device is exclusive)', async (t) => {
  const { src, children } = source();
  const off = src.subscribe(() => undefined);
  const first = children[0]!;
  first.diesOn = new Set();
  off();
  const frames: CameraFrame[] = [];
  const off2 = src.subscribe((f) => frames.push(f));
  t.equal(children.length, 1, 'no second process while the first still runs');
  first.stdout.write(FRAME);
  await tick();
  t.equal(frames.length, 0, 'frames of the stopping process are not delivered');
  first.exit(null, 'SIGTERM');
  t.equal(children.length, 2, 'started once the old one exited');
  children[1]!.stdout.write(FRAME);
  await tick();
  t.equal(frames.length, 1);
  off2();
  await src.close();
});

t.test('snapshot without subscribers starts the stream for one frame and stops it', async (t) => {
  const { src, children } = source();
  const shot = src.snapshot();
  t.ok(src.streaming);
  children[0]!.stdout.write(FRAME);
  t.ok((await shot).equals(FRAME));
  t.same(children[0]!.signals, ['SIGTERM']);
  await src.idle();
});

t.test('snapshot gives up with ERR_DRIVER_TIMEOUT and stops the stream it started', async (t) => {
  const { src, clock, children } = source({ snapshotTimeoutMs: 5000 });
  const shot = src.snapshot();
  clock.advance(5000);
  await t.rejects(shot, { code: DriverErrorCode.TIMEOUT });
  t.same(children[0]!.signals, ['SIGTERM']);
  await src.idle();
  t.equal(clock.pending, 0);
});

t.test('close fails pending snapshots and stops the process', async (t) => {
  const { src, children } = source();
  const shot = src.snapshot();
  await src.close();
  await t.rejects(shot, { code: DriverErrorCode.CLOSED });
  t.ok(children[0]!.exited);
  await t.rejects(src.snapshot(), { code: DriverErrorCode.CLOSED });
});

t.test('pipes a grandchild keeps open are closed after pipeGraceMs once the process exited', async (t) => {
  const { src, clock, children } = source({ pipeGraceMs: 500 });
  const off = src.subscribe(() => undefined);
  const child = children[0]!;
  child.kill = (signal) => {
    child.signals.push(signal ?? 'SIGTERM');
    child.emit('exit', null, signal);
    return true;
  };
  // 'close' comes only when both pipes are closed, as Node does.
  let open = 2;
  const onPipeClosed = (): void => {
    if (--open === 0) child.emit('close', null, 'SIGTERM');
  };
  child.stdout.on('close', onPipeClosed);
  child.stderr.on('close', onPipeClosed);
  off();
  let idle = false;
  void src.idle().then(() => (idle = true));
  await tick();
  t.notOk(idle, 'still waiting for the pipes');
  clock.advance(500);
  await src.idle();
  t.pass('the pipes were closed and the run finished');
});

t.test('the command must be a non-empty argv', async (t) => {
  t.throws(() => new MjpegCommandSource({ id: 'c', command: [] }), { code: DriverErrorCode.INVALID_ARGUMENT });
  t.throws(() => new MjpegCommandSource({ id: 'c', command: [''] }), { code: DriverErrorCode.INVALID_ARGUMENT });
});
