import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { requireTool } from '../../scripts/testing/system-deps.ts';
import { DriverErrorCode } from '../errors.ts';
import { ManualClock } from './manual-clock.ts';
import { WebcamSnapshot, type WebcamLike } from './webcam-snapshot.ts';

const FRAME = readFileSync(new URL('./sim-frames/frame-2.jpg', import.meta.url));

async function tmpRoot(t: { teardown(fn: () => unknown): void }): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'os-camtest-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A node-webcam stand-in that behaves like the real one with callbackReturn 'buffer': writes the file, reads it back. */
function fakeWebcam(write: (location: string) => Promise<Buffer | Error>): WebcamLike & { locations: string[] } {
  const locations: string[] = [];
  return {
    locations,
    capture(location, callback) {
      locations.push(location);
      void write(location).then((result) => (result instanceof Error ? callback(result, '') : callback(null, result)));
    },
  };
}

t.test('a shot goes through a private temp file that is removed; concurrent callers share one capture', async (t) => {
  const root = await tmpRoot(t);
  const webcam = fakeWebcam(async (location) => {
    await writeFile(location, FRAME);
    return readFileSync(location);
  });
  const cam = new WebcamSnapshot({ id: 'cam0', device: '/dev/video0', tmpRoot: root, createWebcam: () => webcam });
  const [a, b] = await Promise.all([cam.snapshot(), cam.snapshot()]);
  t.ok(a.equals(FRAME) && b.equals(FRAME));
  t.equal(webcam.locations.length, 1, 'one capture for both');
  t.notOk(existsSync(webcam.locations[0]!), 'the shot file is removed');
  t.match(webcam.locations[0], new RegExp(`^${root}/os-cam-[^/]+/shot-1\\.jpg$`));
  await cam.snapshot();
  t.equal(webcam.locations.length, 2, 'a later call takes a new shot');
  await Promise.all([cam.close(), cam.close()]);
  t.same(readdirSync(root), [], 'close removed the temp dir');
  await t.rejects(cam.snapshot(), { code: DriverErrorCode.CLOSED });
});

t.test('what fswebcam returns must be a complete JPEG', async (t) => {
  const cam = new WebcamSnapshot({
    id: 'cam0',
    device: '/dev/video0',
    tmpRoot: await tmpRoot(t),
    createWebcam: () => fakeWebcam(async () => FRAME.subarray(0, 100)),
  });
  t.teardown(() => cam.close());
  await t.rejects(cam.snapshot(), { code: DriverErrorCode.BAD_DEVICE });
});

t.test('node-webcam errors become DriverErrors with the cause kept', async (t) => {
  const cases: [Error, string][] = [
    [Object.assign(new Error('Command failed: /bin/sh: 1: fswebcam: not found'), { code: 127 }), DriverErrorCode.UNAVAILABLE],
    [new Error('No webcam found'), DriverErrorCode.OPEN_FAILED],
    [Object.assign(new Error("ENOENT: no such file or directory, open '/tmp/x.jpg'"), { code: 'ENOENT' }), DriverErrorCode.IO],
    [new Error('something else'), DriverErrorCode.IO],
  ];
  for (const [failure, code] of cases) {
    const cam = new WebcamSnapshot({ id: 'cam0', device: '/dev/video0', tmpRoot: await tmpRoot(t), createWebcam: () => fakeWebcam(async () => failure) });
    await t.rejects(cam.snapshot(), { code, cause: failure }, failure.message);
    await cam.close();
  }
});

t.test('a capture that never answers is ERR_DRIVER_TIMEOUT', async (t) => {
  const clock = new ManualClock();
  const cam = new WebcamSnapshot({
    id: 'cam0',
    device: '/dev/video0',
    timeoutMs: 10_000,
    clock,
    tmpRoot: await tmpRoot(t),
    createWebcam: () => ({ capture: () => undefined }),
  });
  t.teardown(() => cam.close());
  const shot = cam.snapshot();
  // The timer starts once the temp dir exists (real fs work); wait for it on the event loop, not on time.
  while (clock.pending === 0) await new Promise((resolve) => setImmediate(resolve));
  clock.advance(10_000);
  await t.rejects(shot, { code: DriverErrorCode.TIMEOUT });
  t.equal(clock.pending, 0);
});

t.test('device names that could carry shell syntax are refused (node-webcam builds a shell line)', async (t) => {
  for (const device of ['/dev/video0; rm -rf /', '$(reboot)', '/dev/video 0', '']) {
    t.throws(() => new WebcamSnapshot({ id: 'c', device }), { code: DriverErrorCode.INVALID_ARGUMENT }, JSON.stringify(device));
  }
  t.throws(() => new WebcamSnapshot({ id: 'c', device: 'TEST', width: 0 }), { code: DriverErrorCode.INVALID_ARGUMENT });
  t.throws(() => new WebcamSnapshot({ id: 'c', device: 'TEST', quality: 100 }), { code: DriverErrorCode.INVALID_ARGUMENT });
});

t.test('real node-webcam + fswebcam', async (t) => {
  if (!requireTool(t, 'fswebcam', 'fswebcam')) return;

  t.test('a missing device is ERR_DRIVER_OPEN_FAILED', async (t) => {
    const cam = new WebcamSnapshot({ id: 'cam9', device: '/dev/video-missing', tmpRoot: await tmpRoot(t) });
    t.teardown(() => cam.close());
    await t.rejects(cam.snapshot(), { code: DriverErrorCode.OPEN_FAILED, message: /video-missing/ });
  });

  t.test("device 'TEST' at the requested size", async (t) => {
    const cam = new WebcamSnapshot({ id: 'cam0', device: 'TEST', width: 160, height: 120, tmpRoot: await tmpRoot(t) });
    t.teardown(() => cam.close());
    const jpeg = await cam.snapshot();
    // SOF0 (FF C0) carries the height and width (T.81 B.2.2).
    const sof = jpeg.indexOf(Buffer.from([0xff, 0xc0]));
    t.ok(sof > 0, 'a baseline JPEG');
    t.same([jpeg.readUInt16BE(sof + 7), jpeg.readUInt16BE(sof + 5)], [160, 120], '160x120');
  });
});
