// The HAL end to end inside one process: agent-side HalProxy <-> channel <-> HalService <-> devices. Grants,
// denials (counted, logged, never reaching a device), envelopes, rate limits, ownership, safe state on detach,
// watches, pull-based camera frames, serial streams.
import t from 'tap';
import type { Test } from 'tap';
import * as z from 'zod';
import { ChannelEndpoint } from '../runtime/core/channel-endpoint.ts';
import { inMemoryChannelPair } from '../runtime/core/in-memory-channel.ts';
import type { Clock } from '../runtime/clock.ts';
import { createLogger } from '../runtime/logging/logger.ts';
import type { BusProvider, DeviceDriverDefinition, IDevice } from '../drivers/device.ts';
import { CapabilityGrants } from './capability-grants.ts';
import { DeviceRegistry } from './device-registry.ts';
import { FakeCamera, FakeInput, FakeRelay, FakeSensor, FakeSerial } from './fake-devices.test-support.ts';
import { HalProxy } from './hal-proxy.ts';
import { HalService } from './hal-service.ts';
import { HalSession } from './hal-session.ts';
import type { DaemonChannel } from '../runtime/core/channel-methods.ts';

class ManualClock implements Clock {
  t = 0;
  now = () => this.t;
  setTimeout = (fn: () => void, ms: number) => setTimeout(fn, ms);
  clearTimeout = (h: unknown) => clearTimeout(h as ReturnType<typeof setTimeout>);
}

async function setup(t: Test) {
  const devices: Record<string, IDevice> = {
    env0: new FakeSensor('env0', ['temperature', 'humidity'], { temperature: 21.5, humidity: 48 }),
    env1: new FakeSensor('env1', ['temperature'], { temperature: 30 }),
    fan: new FakeRelay('fan'),
    pump: new FakeRelay('pump'),
    pir: new FakeInput('pir'),
    cam0: new FakeCamera('cam0'),
    modem: new FakeSerial('modem'),
  };
  const definition: DeviceDriverDefinition = { name: 'fake', kind: 'sensor', configSchema: z.object({}).passthrough(), create: async (id) => devices[id] as IDevice };
  const lines: string[] = [];
  const log = createLogger('hal', { write: (l) => lines.push(l) });
  const clock = new ManualClock();
  const registry = await DeviceRegistry.build({
    sources: Object.keys(devices).map((id, i) => ({ where: `devices.${i}`, origin: 'config' as const, entry: { id, driver: 'fake', ...(id === 'pump' ? { rateLimit: { perSecond: 1, burst: 2 } } : {}) } })),
    drivers: new Map([['fake', definition]]),
    buses: {} as BusProvider,
    clock,
    log,
  });
  const hal = new HalService(registry, clock, log);
  const agent = (pid: string, agentId: string, capabilities: string[]) => {
    hal.admit(pid, agentId, capabilities);
    const [a, d] = inMemoryChannelPair();
    const agentSide = new ChannelEndpoint(a);
    hal.attach(pid, new ChannelEndpoint(d));
    const errors: string[] = [];
    return { proxy: new HalProxy(agentSide, (m) => errors.push(m)), channel: agentSide, errors };
  };
  t.teardown(() => registry.close());
  return { devices, hal, agent, lines, clock, registry };
}

t.test('actuators start in their safe state', async (t) => {
  const { devices } = await setup(t);
  t.same((devices.fan as FakeRelay).applied, ['off']);
});

t.test('sensor reads: by device, by quantity, and denials that never reach a driver', async (t) => {
  const { agent, hal, devices, lines } = await setup(t);
  const a = agent('1', 'thermo', ['sensor:env0:read']);
  t.equal(await a.proxy.getSensorData('env0.humidity'), 48);
  t.equal(await a.proxy.getSensorData('temperature'), 21.5, 'quantity from a granted device');
  const env1 = devices.env1 as FakeSensor;
  await t.rejects(a.proxy.getSensorData('env1.temperature'), { code: 'ERR_CAPABILITY_DENIED', message: /sensor:env1:read/ });
  t.equal(env1.reads, 0, 'the denied read never reached the device');
  await t.rejects(a.proxy.getSensorData('pressure'), { code: 'ERR_CAPABILITY_DENIED' });
  await t.rejects(a.proxy.controlActuator('fan', 'on'), { code: 'ERR_CAPABILITY_DENIED', message: /actuator:fan:control/ });
  t.same((devices.fan as FakeRelay).applied, ['off'], 'fan untouched');
  t.equal(hal.deniedCount('1'), 3);
  t.equal(lines.filter((l) => /denied: agent thermo \(pid 1\)/.test(l)).length, 3, 'each denial logged');

  const b = agent('2', 'any-temp', ['sensor:temperature:read']);
  t.equal(await b.proxy.getSensorData('env1.temperature'), 30, 'a quantity grant covers every sensor of it');
  await t.rejects(b.proxy.getSensorData('env0.humidity'), { code: 'ERR_CAPABILITY_DENIED' });
});

t.test('capabilities are checked at admission', async (t) => {
  const { hal } = await setup(t);
  t.throws(() => hal.admit('1', 'x', ['sensor:env9:read', 'actuator:env0:control', 'gpio:pir:write']), {
    code: 'ERR_CAPABILITY_INVALID',
    message: /no sensor "env9".*device "env0" is a sensor, not a actuator.*write is not possible on input "pir"/,
  });
});

t.test('actuators: envelope, rate limit, exclusive owner, safe state when the owner ends', async (t) => {
  const { agent, hal, devices, clock } = await setup(t);
  const a = agent('1', 'climate', ['actuator:fan:control', 'actuator:pump:control']);
  await a.proxy.controlActuator('fan', 'on');
  t.equal((devices.fan as FakeRelay).state, 'on');
  await t.rejects(a.proxy.controlActuator('fan', 'max'), { code: 'ERR_ENVELOPE_VIOLATION', message: /not one of on, off/ });
  await t.rejects(a.proxy.controlActuator('fan', 1), { code: 'ERR_ENVELOPE_VIOLATION' });

  await a.proxy.controlActuator('pump', 'on');
  await a.proxy.controlActuator('pump', 'off');
  await t.rejects(a.proxy.controlActuator('pump', 'on'), { code: 'ERR_RATE_LIMITED' }, 'burst of 2 used up');
  clock.t += 1000;
  await a.proxy.controlActuator('pump', 'on');

  t.throws(() => hal.admit('2', 'intruder', ['actuator:fan:control']), { code: 'ERR_DEVICE_BUSY', message: /owned by agent climate \(pid 1\)/ });
  t.match(hal.devices().find((d) => d.id === 'fan'), { owner: { pid: '1', agentId: 'climate' }, value: 'on' });

  await hal.detach('1');
  t.equal((devices.fan as FakeRelay).state, 'off', 'safe state after the owner ended');
  t.equal((devices.pump as FakeRelay).state, 'off');
  hal.release('1');
  t.doesNotThrow(() => hal.admit('3', 'next', ['actuator:fan:control']), 'released claims can be taken again');
});

t.test('watch delivers edges until unsubscribed; ungranted watch reports the denial', async (t) => {
  const { agent, devices } = await setup(t);
  const a = agent('1', 'motion', ['gpio:pir:watch']);
  const seen: string[] = [];
  const stop = a.proxy.watch('pir', (e) => seen.push(`${e.edge}:${e.value}`));
  const pir = devices.pir as FakeInput;
  for (let i = 0; i < 50 && pir.listeners.size === 0; i++) await new Promise((r) => setImmediate(r));
  pir.emit({ edge: 'rising', value: 1, at: 1 });
  pir.emit({ edge: 'falling', value: 0, at: 2 });
  await new Promise((r) => setImmediate(r));
  t.same(seen, ['rising:1', 'falling:0']);
  t.equal(a.channel.pending, 1, 'a live watch holds the agent alive');
  stop();
  for (let i = 0; i < 50 && pir.listeners.size > 0; i++) await new Promise((r) => setImmediate(r));
  t.equal(pir.listeners.size, 0, 'unwatched on the device');
  t.equal(a.channel.pending, 0);

  const b = agent('2', 'nosy', []);
  b.proxy.watch('pir', () => undefined);
  for (let i = 0; i < 50 && b.errors.length === 0; i++) await new Promise((r) => setImmediate(r));
  t.match(b.errors, [/watch\(pir\) failed: ERR_CAPABILITY_DENIED/]);
});

t.test('camera frames are pulled: a slow reader gets the newest frame, never a queue', async (t) => {
  const { agent, devices } = await setup(t);
  const a = agent('1', 'cam', ['camera:cam0:stream']);
  const source = (devices.cam0 as FakeCamera).source;
  const reader = a.proxy.getCameraStream('cam0').getReader();
  const first = reader.read();
  for (let i = 0; i < 50 && source.listeners.size === 0; i++) await new Promise((r) => setImmediate(r));
  source.push();
  t.same([...((await first).value ?? [])], [0xff, 0xd8, 1, 0xff, 0xd9], 'a complete JPEG per chunk');
  for (let i = 0; i < 10; i++) source.push(); // the agent is busy: ten frames arrive meanwhile
  const next = await reader.read();
  t.equal(next.value?.[2], 11, 'the newest frame, the nine in between skipped');
  await reader.cancel();
  for (let i = 0; i < 50 && source.listeners.size > 0; i++) await new Promise((r) => setImmediate(r));
  t.equal(source.listeners.size, 0, 'cancel stops the subscription');

  const b = agent('2', 'blind', []);
  await t.rejects(b.proxy.getCameraStream('cam0').getReader().read(), { code: 'ERR_CAPABILITY_DENIED' });
});

t.test('serial: a duplex of web streams, one opener at a time', async (t) => {
  const { agent } = await setup(t);
  const a = agent('1', 'modem-user', ['serial:modem:open']);
  const port = await a.proxy.openSerial('modem');
  const writer = port.writable.getWriter();
  await writer.write(new TextEncoder().encode('at+csq\r'));
  const { value } = await port.readable.getReader().read();
  t.equal(new TextDecoder().decode(value), 'AT+CSQ\r');

  const b = agent('2', 'other', ['serial:modem:open']);
  await t.rejects(b.proxy.openSerial('modem'), { code: 'ERR_DEVICE_BUSY', message: /open by agent modem-user/ });
  await port.close();
  await new Promise((r) => setImmediate(r));
  const again = b.proxy.openSerial('modem');
  await t.resolves(again, 'free again after close');
  await (await again).close();
});

t.test('per-agent limits: watches, camera streams, serial write size; closing a port waits for its release', async (t) => {
  const { agent, devices } = await setup(t);
  const a = agent('1', 'greedy', ['gpio:pir:watch', 'camera:cam0:stream', 'serial:modem:open']);
  const stops = Array.from({ length: 17 }, () => a.proxy.watch('pir', () => undefined));
  for (let i = 0; i < 100 && a.errors.length === 0; i++) await new Promise((r) => setImmediate(r));
  t.match(a.errors, [/ERR_HAL_TOO_MANY_HANDLES: at most 16 watches/], 'the 17th watch is refused');
  t.equal((devices.pir as FakeInput).listeners.size, 16);
  for (const stop of stops) stop();

  const readers = Array.from({ length: 5 }, () => a.proxy.getCameraStream('cam0').getReader());
  const results = await Promise.allSettled(readers.map((r) => Promise.race([r.read(), new Promise((res) => setTimeout(res, 50))])));
  t.equal(results.filter((r) => r.status === 'rejected').length, 1, 'the 5th stream is refused');
  for (const r of readers) await r.cancel().catch(() => undefined);

  const port = await a.proxy.openSerial('modem');
  await t.rejects(port.writable.getWriter().write(new Uint8Array(64 * 1024 + 1)), { code: 'ERR_INVALID_PARAMS', message: /at most 65536 bytes/ });
  await port.close();
  const again = a.proxy.openSerial('modem');
  await t.resolves(again, 'reopened right after close: the claim was freed only once the port was released');
  await (await again).close();
});

t.test('operator commands: envelope and rate limit as for an agent, refused while an agent owns the actuator', async (t) => {
  const { agent, hal, devices, lines } = await setup(t);
  await hal.operatorControl('fan', 'on', 'dashboard');
  t.equal((devices.fan as FakeRelay).state, 'on', 'an unowned actuator switches');
  await t.rejects(hal.operatorControl('fan', 'max', 'dashboard'), { code: 'ERR_ENVELOPE_VIOLATION' });
  await t.rejects(hal.operatorControl('env0', 'on', 'dashboard'), { code: 'ERR_DEVICE_NOT_FOUND', message: /not an actuator/ });
  await t.rejects(hal.operatorControl('nope', 'on', 'dashboard'), { code: 'ERR_DEVICE_NOT_FOUND' });
  await hal.operatorControl('pump', 'on', 'homeassistant');
  await hal.operatorControl('pump', 'off', 'homeassistant');
  await t.rejects(hal.operatorControl('pump', 'on', 'homeassistant'), { code: 'ERR_RATE_LIMITED' }, 'the same bucket as agents');
  agent('1', 'climate', ['actuator:fan:control']);
  await t.rejects(hal.operatorControl('fan', 'off', 'homeassistant'), { code: 'ERR_DEVICE_BUSY', message: /owned by agent climate/ });
  t.equal((devices.fan as FakeRelay).state, 'on', 'the owned actuator did not move');
  t.same(hal.operatorStats(), { applied: 3, refused: 5 });
  t.ok(lines.some((l) => /operator command refused \(homeassistant\): fan "off"/.test(l)), 'refusals are logged with their origin');
});

t.test('calls and refusals are counted by device and operation; made-up device ids share one row', async (t) => {
  const { agent, hal } = await setup(t);
  const a = agent('1', 'thermo', ['sensor:env0:read', 'actuator:fan:control']);
  await a.proxy.getSensorData('env0.temperature');
  await a.proxy.getSensorData('humidity');
  await t.rejects(a.proxy.getSensorData('env1.temperature'), { code: 'ERR_CAPABILITY_DENIED' });
  await a.proxy.controlActuator('fan', 'on');
  await t.rejects(a.proxy.controlActuator('fan', 'max'), { code: 'ERR_ENVELOPE_VIOLATION' });
  await t.rejects(a.proxy.controlActuator('x'.repeat(200), 'on'), { code: 'ERR_CAPABILITY_DENIED' });
  await t.rejects(a.proxy.controlActuator('y'.repeat(200), 'on'), { code: 'ERR_CAPABILITY_DENIED' });
  await t.rejects(hal.operatorControl('fan', 'off', 'dashboard'), { code: 'ERR_DEVICE_BUSY' });
  t.same(hal.callStats(), [
    { device: '(unknown)', operation: 'control', calls: 2, refused: { ERR_CAPABILITY_DENIED: 2 } },
    { device: 'env0', operation: 'read', calls: 2, refused: {} },
    { device: 'env1', operation: 'read', calls: 1, refused: { ERR_CAPABILITY_DENIED: 1 } },
    { device: 'fan', operation: 'control', calls: 2, refused: { ERR_ENVELOPE_VIOLATION: 1 } },
    { device: 'fan', operation: 'operator.control', calls: 1, refused: { ERR_DEVICE_BUSY: 1 } },
  ]);
});

t.test('a read resolves its sensor once: the count and the read go to the same device; bad params count under (unknown)', async (t) => {
  const { agent, hal } = await setup(t);
  const a = agent('1', 'thermo', ['sensor:env1:read', 'sensor:humidity:read']);
  let scans = 0;
  const sensorFor = CapabilityGrants.prototype.sensorFor;
  CapabilityGrants.prototype.sensorFor = function (this: CapabilityGrants, ...args: Parameters<typeof sensorFor>) {
    scans++;
    return sensorFor.apply(this, args);
  };
  t.teardown(() => (CapabilityGrants.prototype.sensorFor = sensorFor));
  t.equal(await a.proxy.getSensorData('temperature'), 30, 'the granted device first');
  t.equal(await a.proxy.getSensorData('humidity'), 48, 'a quantity grant');
  t.equal(scans, 2, 'one scan of the devices per read of a bare quantity');
  t.equal(await a.proxy.getSensorData('env1.temperature'), 30);
  t.equal(scans, 2, 'none for a read that names its device');
  await t.rejects(a.proxy.getSensorData('pressure'), { code: 'ERR_CAPABILITY_DENIED', message: /sensor:pressure:read or sensor:<device>:read/ });
  await t.rejects(a.proxy.getSensorData('env1.humidity'), { code: 'ERR_DEVICE_NOT_FOUND', message: 'env1 does not measure "humidity" (it measures temperature)' });
  await t.rejects(a.channel.request('hal.read', { sensorType: 42 } as never), { code: 'ERR_INVALID_PARAMS', message: 'sensorType must be a non-empty string' });
  await t.rejects(a.channel.request('hal.read', { sensorType: '' }), { code: 'ERR_INVALID_PARAMS' });
  t.same(hal.callStats(), [
    { device: '(unknown)', operation: 'read', calls: 3, refused: { ERR_CAPABILITY_DENIED: 1, ERR_INVALID_PARAMS: 2 } },
    { device: 'env0', operation: 'read', calls: 1, refused: {} },
    { device: 'env1', operation: 'read', calls: 3, refused: { ERR_DEVICE_NOT_FOUND: 1 } },
  ]);
});

t.test('read() checks the grant of a target it is handed, whoever built it (a lookup, not a second scan)', async (t) => {
  const { devices, registry, clock, lines } = await setup(t);
  const session = new HalSession({
    pid: '9', agentId: 'forger', grants: CapabilityGrants.resolve(['sensor:env0:read'], registry.views()), registry, guards: new Map(), channel: {} as DaemonChannel,
    clock, log: createLogger('hal', { write: (l) => lines.push(l) }), onDenied: () => undefined, portOwners: new Map(),
  });
  t.equal(await session.read(session.sensorTarget('temperature')), 21.5, 'a resolved target reads');
  await t.rejects(session.read({ sensorType: 'temperature', deviceId: 'env1' }), { code: 'ERR_CAPABILITY_DENIED' }, 'a forged one does not');
  t.equal((devices.env1 as FakeSensor).reads, 0, 'env1 never read');
});
