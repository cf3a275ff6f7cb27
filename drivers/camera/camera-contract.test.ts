import t from 'tap';
import { requireTool } from '../../scripts/testing/system-deps.ts';
import { runCameraContract, takeFrames } from './camera-contract.ts';
import { RealCamera } from './real-camera.ts';
import { createSimCamera } from './sim-camera.ts';

t.test('sim camera', async (t) => {
  runCameraContract(t, async () => {
    const camera = await createSimCamera({ id: 'cam0', fps: 30 });
    return { source: camera, producing: () => camera.producing, stopped: async () => undefined };
  });
});

/** docs/ARCHITECTURE.md "Testing against real parts": a real MJPEG stream from ffmpeg's test source, the same shape `-f v4l2 -i /dev/video0` gives. */
const TEST_STREAM = ['ffmpeg', '-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=15', '-f', 'mjpeg', '-q:v', '5', '-'];

const realCamera = (): RealCamera =>
  // device 'TEST' is fswebcam's built-in test source: node-webcam runs its real path.
  new RealCamera({ id: 'cam-test', device: 'TEST', width: 320, height: 240, streamCommand: TEST_STREAM });

t.test('real camera: node-webcam (fswebcam TEST) snapshots, ffmpeg testsrc stream', async (t) => {
  if (!requireTool(t, 'fswebcam', 'fswebcam') || !requireTool(t, 'ffmpeg', 'ffmpeg')) return;
  runCameraContract(t, async () => {
    const camera = realCamera();
    return { source: camera, producing: () => camera.stream.pid !== undefined, stopped: () => camera.stream.idle() };
  });

  t.test('after the last unsubscribe the ffmpeg process is gone, not just forgotten', async (t) => {
    const camera = realCamera();
    t.teardown(() => camera.close());
    const off = camera.subscribe(() => undefined);
    const pid = camera.stream.pid;
    t.type(pid, 'number');
    await takeFrames(camera, 1);
    off();
    await camera.stream.idle();
    t.throws(() => process.kill(pid!, 0), { code: 'ESRCH' }, 'no such process');
  });
});
