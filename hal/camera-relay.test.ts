// The camera relay's wait for a frame on an injected clock: a frame that arrives in time is delivered and clears
// the wait; none within timeoutMs is a driver timeout exactly when the clock gets there.
import t from 'tap';
import { ManualClock } from '../runtime/manual-clock.ts';
import { CameraRelay } from './camera-relay.ts';
import { FakeCameraSource } from './fake-devices.test-support.ts';

t.test('next() waits for a newer frame on the clock: delivered when one comes, a timeout when none does', async (t) => {
  const clock = new ManualClock();
  const source = new FakeCameraSource('cam0');
  const relay = new CameraRelay(source, clock);
  t.teardown(() => relay.close());
  const first = relay.next(-1, 1000);
  t.equal(clock.pending, 1, 'the wait is a timer on the clock');
  source.push();
  t.equal((await first).seq, 1);
  t.equal(clock.pending, 0, 'the frame cleared the wait');
  let settled = false;
  const waiting = relay.next(1, 1000).finally(() => (settled = true));
  clock.advance(999);
  await new Promise((r) => setImmediate(r));
  t.notOk(settled, 'still waiting before timeoutMs on the clock');
  clock.advance(1);
  await t.rejects(waiting, { code: 'ERR_DRIVER_TIMEOUT', message: 'no camera frame within 1000 ms' });
  t.equal(clock.pending, 0, 'no timer left behind');
  source.push();
  t.equal((await relay.next(1, 1000)).seq, 2, 'the stream goes on after a timeout');
});
