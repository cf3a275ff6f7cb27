import t from 'tap';
import type { CameraFrame } from '../../camera/camera-source.ts';
import { SimCamera } from '../../camera/sim-camera.ts';
import type { CameraOptions, ICameraDevice } from '../../device.ts';
import { FakeSimBoard } from '../test-support/fake-sim-board.ts';
import { cameraConfigSchema, createCameraDriver } from './camera-driver.ts';

t.test('config schema: defaults, device forms, strict', async (t) => {
  t.same(cameraConfigSchema.parse({}), { device: '/dev/video0', width: 640, height: 480, fps: 10 });
  t.ok(cameraConfigSchema.safeParse({ device: 'sim' }).success);
  t.ok(cameraConfigSchema.safeParse({ device: 'TEST', streamCommand: ['rpicam-vid', '-o', '-'] }).success);
  t.notOk(cameraConfigSchema.safeParse({ device: 'video0' }).success);
  t.notOk(cameraConfigSchema.safeParse({ fps: 0 }).success);
  t.notOk(cameraConfigSchema.safeParse({ streamCommand: [] }).success);
  t.notOk(cameraConfigSchema.safeParse({ resolution: '640x480' }).success);
});

t.test('wraps the bus camera source and counts frames for status', async (t) => {
  const board = new FakeSimBoard();
  t.teardown(() => board.close());
  const driver = createCameraDriver({ clock: board.clock });
  const config = cameraConfigSchema.parse({ device: 'sim', width: 320, height: 240, fps: 5, streamCommand: ['cat'] });
  const device = (await driver.create('cam0', config, board.buses)) as ICameraDevice;
  const source = board.cameras[0];
  if (source === undefined) throw new Error('no camera');
  t.same(source.options, { id: 'cam0', device: 'sim', width: 320, height: 240, fps: 5, streamCommand: ['cat'] });
  t.equal(device.kind, 'camera');
  t.equal(device.source.id, 'cam0');
  t.match(device.status(), { value: { frames: 0, streaming: false } });

  t.same([...(await device.source.snapshot())], [0xff, 0xd8, 0xff, 0xd9]);
  const got: CameraFrame[] = [];
  const off = device.source.subscribe((f) => got.push(f));
  t.match(device.status(), { value: { frames: 1, streaming: true }, updatedAt: String });
  source.emit({ jpeg: Buffer.from([0xff, 0xd8, 0xff, 0xd9]), at: 1, seq: 0 });
  t.equal(got.length, 1);
  t.match(device.status(), { value: { frames: 2 } });
  off();
  off();
  t.equal(source.listeners.size, 0);
  t.match(device.status(), { value: { streaming: false } });

  await Promise.all([device.close(), device.close()]);
  await device.close();
  t.equal(source.closed, 1, 'the source is closed once');
});

t.test('snapshot and stream errors show in status', async (t) => {
  const board = new FakeSimBoard();
  t.teardown(() => board.close());
  const device = (await createCameraDriver().create('cam1', cameraConfigSchema.parse({}), board.buses)) as ICameraDevice;
  const source = board.cameras[0];
  if (source === undefined) throw new Error('no camera');
  source.snapshot = async () => {
    throw new Error('ERR_DRIVER_TIMEOUT: no frame');
  };
  await t.rejects(device.source.snapshot(), { message: /no frame/ });
  t.match(device.status(), { error: /no frame/ });
  await device.close();
});

t.test('on the real sim camera binding: streamed frames are counted; close stops the producer', async (t) => {
  const board = new FakeSimBoard();
  t.teardown(() => board.close());
  const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x02, 0xff, 0xd9]);
  let sim: SimCamera | undefined;
  const buses = {
    ...board.buses,
    camera: (options: CameraOptions) => (sim = new SimCamera({ id: options.id, fps: options.fps, clock: board.clock, frames: [jpeg] })),
  };
  const device = (await createCameraDriver({ clock: board.clock }).create('cam0', cameraConfigSchema.parse({ device: 'sim', fps: 10 }), buses)) as ICameraDevice;
  const frames: CameraFrame[] = [];
  const off = device.source.subscribe((f) => frames.push(f));
  board.clock.advance(350);
  t.ok(frames.length >= 3, `${frames.length} frames`);
  t.match(device.status(), { value: { frames: frames.length, streaming: true } });
  off();
  await device.close();
  t.equal(sim?.producing, false);
  t.equal(board.clock.pending, 0, 'no timers left');
});
