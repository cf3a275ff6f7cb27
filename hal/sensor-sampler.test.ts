import t from 'tap';
import { ManualClock } from '../runtime/manual-clock.ts';
import type { IDevice } from '../drivers/device.ts';
import { FakeRelay, FakeSensor } from './fake-devices.test-support.ts';
import { SensorSampler } from './sensor-sampler.ts';

const settle = () => new Promise((r) => setImmediate(r));

/** A sensor with measure(): counts measurements, and can be held open to look like a hung bus. */
class MeasuringFake extends FakeSensor {
  measurements = 0;
  hold: Promise<void> | undefined;
  async measure(): Promise<Record<string, number>> {
    this.measurements += 1;
    await this.hold;
    return { ...this.values };
  }
}

function setup(devices: { id: string; device?: IDevice }[], intervalMs = 5000) {
  const clock = new ManualClock();
  const sampler = new SensorSampler({ devices: () => devices, clock, intervalMs, windowMs: 60_000 });
  return { clock, sampler };
}

t.test('samples every working sensor at start and every interval; actuators and failed devices are not read', async (t) => {
  const env0 = new MeasuringFake('env0', ['temperature', 'humidity'], { temperature: 21, humidity: 40 });
  const plain = new FakeSensor('soil', ['moisture'], { moisture: 0.3 });
  const { clock, sampler } = setup([{ id: 'env0', device: env0 }, { id: 'soil', device: plain }, { id: 'fan', device: new FakeRelay('fan') }, { id: 'dead' }]);
  const seen: string[] = [];
  sampler.onSample((s) => seen.push(`${s.deviceId}@${s.at}:${JSON.stringify(s.values)}`));
  sampler.start();
  sampler.start(); // idempotent
  await settle();
  t.equal(env0.measurements, 1, 'measure() is used when the driver has it: one measurement for all quantities');
  t.equal(plain.reads, 1, 'read(quantity) otherwise');
  const t0 = clock.now();
  t.same(seen.sort(), [`env0@${t0}:{"temperature":21,"humidity":40}`, `soil@${t0}:{"moisture":0.3}`]);
  env0.values.temperature = 22;
  clock.advance(5000);
  await settle();
  t.equal(env0.measurements, 2);
  t.same(sampler.latest().find((s) => s.deviceId === 'env0')?.values, { temperature: 22, humidity: 40 });
  t.same(sampler.history().env0?.temperature, { at: [t0, t0 + 5000], values: [21, 22] });
  t.equal(sampler.stats().samples, 4);
  sampler.close();
});

t.test('history is bounded to the window', async (t) => {
  const env0 = new FakeSensor('env0', ['temperature'], { temperature: 0 });
  const { clock, sampler } = setup([{ id: 'env0', device: env0 }], 1000);
  sampler.start();
  for (let i = 1; i <= 200; i += 1) {
    env0.values.temperature = i;
    clock.advance(1000);
    await settle();
  }
  const h = sampler.history().env0?.temperature;
  t.ok(h && h.values.length <= 61, `at most window/interval + 1 points (${h?.values.length})`);
  t.equal(h?.values.at(-1), 200);
  t.ok(h && h.at[0]! >= clock.now() - 60_000, 'nothing older than the window');
  sampler.close();
});

t.test('a read still running is not stacked: the device is skipped and counted', async (t) => {
  const env0 = new MeasuringFake('env0', ['temperature'], { temperature: 20 });
  let release!: () => void;
  env0.hold = new Promise<void>((r) => (release = r));
  const { clock, sampler } = setup([{ id: 'env0', device: env0 }]);
  sampler.start();
  clock.advance(5000);
  clock.advance(5000);
  await settle();
  t.equal(env0.measurements, 1);
  t.equal(sampler.stats().skipped, 2);
  release();
  await settle();
  t.equal(sampler.stats().samples, 1);
  sampler.close();
});

t.test('errors are counted, not thrown; a throwing listener does not stop the others', async (t) => {
  const bad = new FakeSensor('bad', ['temperature'], {});
  const broken = new FakeSensor('broken', ['temperature'], { temperature: 1 });
  broken.read = () => Promise.reject(new Error('bus I/O'));
  const good = new FakeSensor('good', ['temperature'], { temperature: 5 });
  const { sampler } = setup([{ id: 'bad', device: bad }, { id: 'broken', device: broken }, { id: 'good', device: good }]);
  const got: string[] = [];
  sampler.onSample(() => {
    throw new Error('listener bug');
  });
  const off = sampler.onSample((s) => got.push(s.deviceId));
  sampler.start();
  await settle();
  t.same(got, ['good']);
  t.match(sampler.stats(), { errors: 2, listenerErrors: 1, samples: 1 });
  off();
  sampler.close();
});

t.test('close() is idempotent, clears its timer and stops sampling', async (t) => {
  const env0 = new FakeSensor('env0', ['temperature'], { temperature: 20 });
  const { clock, sampler } = setup([{ id: 'env0', device: env0 }]);
  sampler.start();
  await settle();
  t.equal(clock.pending, 1);
  sampler.close();
  sampler.close();
  t.equal(clock.pending, 0, 'no timer left');
  clock.advance(60_000);
  await settle();
  t.equal(env0.reads, 1);
  sampler.start();
  t.equal(clock.pending, 0, 'start after close does nothing');
  t.throws(() => new SensorSampler({ devices: () => [], clock, intervalMs: 0 }), RangeError);
});
