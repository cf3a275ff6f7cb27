/**
 * The camera contract suite (docs/ARCHITECTURE.md "Contract, real and sim bindings"): what camera-source.ts promises, checked the same way against every
 * ICameraSource. Run against the sim always, and against the real path (node-webcam + a stream command) when
 * fswebcam and ffmpeg are installed.
 */
import type { Test } from 'tap';
import { DriverErrorCode } from '../errors.ts';
import type { CameraFrame, ICameraSource } from './camera-source.ts';
import { isCompleteJpeg } from './webcam-snapshot.ts';

export interface CameraContractFixture {
  source: ICameraSource;
  /** Whether the producer (the sim's timer, the stream process) is running now. */
  producing(): boolean;
  /** Resolves once the producer has fully stopped (the process has exited); immediate for a timer. */
  stopped(): Promise<void>;
  teardown?(): Promise<void>;
}

export interface CameraContractOptions {
  /** How many frames a subscriber must see. Default 5. */
  frames?: number;
}

/** Subscribes and resolves with the first `count` frames (unsubscribing then), or rejects on a stream error. */
export function takeFrames(source: ICameraSource, count: number): Promise<CameraFrame[]> {
  return new Promise((resolve, reject) => {
    const frames: CameraFrame[] = [];
    let done = false;
    const unsubscribe = source.subscribe(
      (frame) => {
        if (done) return;
        frames.push(frame);
        if (frames.length === count) {
          done = true;
          unsubscribe();
          resolve(frames);
        }
      },
      (err) => {
        done = true;
        reject(err);
      },
    );
  });
}

export function runCameraContract(t: Test, build: () => Promise<CameraContractFixture>, options: CameraContractOptions = {}): void {
  const count = options.frames ?? 5;
  const setup = async (tt: Test): Promise<CameraContractFixture> => {
    const fixture = await build();
    tt.teardown(async () => {
      await fixture.source.close();
      await fixture.teardown?.();
    });
    return fixture;
  };

  t.test('snapshot is one complete JPEG', async (t) => {
    const { source } = await setup(t);
    const jpeg = await source.snapshot();
    t.ok(Buffer.isBuffer(jpeg));
    t.ok(isCompleteJpeg(jpeg), 'starts with FF D8, ends with FF D9');
  });

  t.test(`a subscriber gets ${count} complete JPEG frames with increasing seq`, async (t) => {
    const fixture = await setup(t);
    t.notOk(fixture.producing(), 'nothing runs before the first subscriber');
    const frames = await takeFrames(fixture.source, count);
    t.equal(frames.length, count);
    t.ok(frames.every((f) => isCompleteJpeg(f.jpeg)), 'every frame is a complete JPEG');
    t.ok(frames.every((f, i) => i === 0 || f.seq > frames[i - 1]!.seq), 'seq increases');
    t.ok(frames.every((f, i) => i === 0 || f.at >= frames[i - 1]!.at), 'at does not go back');
  });

  t.test('the producer starts with the first subscriber and stops after the last leaves', async (t) => {
    const fixture = await setup(t);
    const { source } = fixture;
    let aFrames = 0;
    const offA = source.subscribe(() => aFrames++);
    t.ok(fixture.producing(), 'started by the first subscriber');
    const [first] = await takeFrames(source, 1); // a second subscriber shares the same producer
    t.ok(first && isCompleteJpeg(first.jpeg));
    t.ok(fixture.producing(), 'still running for the remaining subscriber');
    const more = await takeFrames(source, 2);
    t.ok(aFrames >= 2, 'the first subscriber kept receiving');
    offA();
    offA();
    await fixture.stopped();
    t.notOk(fixture.producing(), 'stopped after the last unsubscribe (a second unsubscribe is harmless)');

    const again = await takeFrames(source, 2);
    t.ok(again[0]!.seq > more[1]!.seq, 'a later subscribe restarts it, and seq keeps counting');
    await fixture.stopped();
    t.notOk(fixture.producing());
  });

  t.test('snapshot while streaming is a complete JPEG and leaves the stream running', async (t) => {
    const fixture = await setup(t);
    const off = fixture.source.subscribe(() => undefined);
    t.teardown(off);
    await takeFrames(fixture.source, 1);
    const jpeg = await fixture.source.snapshot();
    t.ok(isCompleteJpeg(jpeg));
    t.ok(fixture.producing(), 'the subscriber still has its stream');
  });

  t.test('close stops the producer, tells subscribers, is idempotent, and later calls fail ERR_DRIVER_CLOSED', async (t) => {
    const fixture = await setup(t);
    const { source } = fixture;
    const errors: Error[] = [];
    source.subscribe(
      () => undefined,
      (err) => errors.push(err),
    );
    await Promise.all([source.close(), source.close()]);
    await fixture.stopped();
    t.notOk(fixture.producing(), 'producer stopped');
    t.match(errors, [{ code: DriverErrorCode.CLOSED }], 'the subscriber heard why its stream ended');
    await source.close();
    await t.rejects(source.snapshot(), { code: DriverErrorCode.CLOSED });
    t.throws(() => source.subscribe(() => undefined), { code: DriverErrorCode.CLOSED });
  });
}
