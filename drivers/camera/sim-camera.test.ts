import t from 'tap';
import type { CameraFrame } from './camera-source.ts';
import { DriverErrorCode } from '../errors.ts';
import { ManualClock } from './manual-clock.ts';
import { SimCamera, createSimCamera, loadSimFrames, SIM_FRAME_COUNT } from './sim-camera.ts';
import { isCompleteJpeg } from './webcam-snapshot.ts';

t.test('the committed fixture frames are real, distinct JPEGs and small', async (t) => {
  const frames = await loadSimFrames();
  t.equal(frames.length, SIM_FRAME_COUNT);
  t.ok(frames.every(isCompleteJpeg));
  t.equal(new Set(frames.map((f) => f.toString('base64'))).size, SIM_FRAME_COUNT, 'all different');
  t.ok(frames.reduce((n, f) => n + f.length, 0) < 80 * 1024, 'under 80 KB together');
});

t.test('frames come at the configured rate on the injected clock, cycling the sequence', async (t) => {
  const clock = new ManualClock();
  const frames = await loadSimFrames();
  const camera = new SimCamera({ id: 'cam0', fps: 10, clock, frames });
  t.teardown(() => camera.close());
  const got: CameraFrame[] = [];
  const off = camera.subscribe((f) => got.push(f));
  t.equal(clock.pending, 1, 'one timer for the producer');
  clock.advance(99);
  t.equal(got.length, 0, 'nothing before the first period');
  clock.advance(1);
  t.equal(got.length, 1);
  clock.advance(1000);
  t.equal(got.length, 11, '10 fps');
  t.same(got.map((f) => f.seq), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  t.ok(got.every((f, i) => f.jpeg.equals(frames[i % SIM_FRAME_COUNT]!)), 'cycles through the fixtures in order');
  t.equal(got[1]!.at - got[0]!.at, 100, 'at is the clock time of the frame');
  off();
  t.equal(clock.pending, 0, 'the timer is cleared after the last unsubscribe');
  t.notOk(camera.producing);
});

t.test('each frame owns its bytes: transferring one does not break the next', async (t) => {
  const clock = new ManualClock();
  const camera = await createSimCamera({ id: 'cam0', fps: 10, clock });
  t.teardown(() => camera.close());
  const got: CameraFrame[] = [];
  camera.subscribe((f) => got.push(f));
  clock.advance(100);
  const transferred = got[0]!.jpeg.buffer as ArrayBuffer;
  structuredClone(transferred, { transfer: [transferred] }); // detaches it, as a postMessage transfer would
  t.equal(got[0]!.jpeg.length, 0, 'the transferred frame is detached');
  clock.advance(100 * SIM_FRAME_COUNT);
  t.ok(isCompleteJpeg(got.at(-1)!.jpeg), 'the same fixture, one cycle later, is intact');
});

t.test('after a stall the missed frames are skipped, not burst', async (t) => {
  const clock = new ManualClock();
  const camera = await createSimCamera({ id: 'cam0', fps: 10, clock });
  t.teardown(() => camera.close());
  let count = 0;
  camera.subscribe(() => count++);
  clock.stall(5000);
  clock.advance(0);
  t.equal(count, 1, 'one late frame, not fifty');
  clock.advance(100);
  t.equal(count, 2, 'then the normal rate again');
});

t.test('snapshot is the frame the clock says is current, and needs no producer', async (t) => {
  const clock = new ManualClock(0);
  const frames = await loadSimFrames();
  const camera = new SimCamera({ id: 'cam0', fps: 4, clock, frames });
  t.teardown(() => camera.close());
  t.ok((await camera.snapshot()).equals(frames[0]!));
  clock.advance(250 * 3);
  t.ok((await camera.snapshot()).equals(frames[3]!));
  t.equal(clock.pending, 0, 'no timer was started');
});

t.test('a listener may unsubscribe from inside its callback', async (t) => {
  const clock = new ManualClock();
  const camera = await createSimCamera({ id: 'cam0', fps: 10, clock });
  t.teardown(() => camera.close());
  let seen = 0;
  const off = camera.subscribe(() => {
    seen++;
    off();
  });
  clock.advance(1000);
  t.equal(seen, 1);
  t.equal(clock.pending, 0);
});

t.test('a throwing listener does not starve the others; its onError hears about it', async (t) => {
  const clock = new ManualClock();
  const camera = await createSimCamera({ id: 'cam0', fps: 10, clock });
  t.teardown(() => camera.close());
  const errors: Error[] = [];
  camera.subscribe(
    () => {
      throw new Error('listener bug');
    },
    (e) => errors.push(e),
  );
  let other = 0;
  camera.subscribe(() => other++);
  clock.advance(300);
  t.equal(other, 3);
  t.equal(errors.length, 3);
  t.ok(camera.producing);
});

t.test('options are validated', async (t) => {
  const frames = await loadSimFrames();
  t.throws(() => new SimCamera({ id: 'c', fps: 0, frames }), { code: DriverErrorCode.INVALID_ARGUMENT });
  t.throws(() => new SimCamera({ id: 'c', fps: 1000, frames }), { code: DriverErrorCode.INVALID_ARGUMENT });
  t.throws(() => new SimCamera({ id: 'c', frames: [] }), { code: DriverErrorCode.INVALID_ARGUMENT });
  await t.rejects(loadSimFrames([new URL('file:///nonexistent/')]), { code: DriverErrorCode.UNAVAILABLE });
});
