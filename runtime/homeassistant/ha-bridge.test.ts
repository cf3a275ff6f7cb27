// Home Assistant discovery against a real mosquitto (docs/ARCHITECTURE.md "Testing against real parts"), through the real
// MQTT link and the real HalService over the sim board's devices: the retained configs' JSON as Home Assistant
// documents it, states, `ON` to the fan's command topic, an owned actuator refusing, malformed and oversized
// commands, and a device removed from the config losing its entity.
import t from 'tap';
import type { Test } from 'tap';
import { startMosquitto } from '../../scripts/testing/mosquitto.ts';
import type { Mosquitto } from '../../scripts/testing/mosquitto.ts';
import { recordMessages, waitFor } from '../../scripts/testing/mqtt-test-kit.ts';
import type { Received } from '../../scripts/testing/mqtt-test-kit.ts';
import { requireTool } from '../../scripts/testing/system-deps.ts';
import { makeLink } from '../link/link.test-support.ts';
import { ManualClock } from '../manual-clock.ts';
import { REANNOUNCE_MIN_GAP_MS } from './ha-bridge.ts';
import { linesLogger, makeBridge, manualFeed, simHal, tempFile } from './ha.test-support.ts';

const CONFIG = /^homeassistant\/(sensor|binary_sensor|switch)\/dev1\/([^/]+)\/config$/;

async function broker(t: Test): Promise<Mosquitto | undefined> {
  if (!requireTool(t, 'mosquitto', 'mosquitto')) return undefined;
  const b = await startMosquitto({ dir: t.testdir() });
  t.teardown(() => b.kill());
  return b;
}

/** The last message seen on each topic. */
function latest(messages: readonly Received[]): Map<string, Received> {
  const out = new Map<string, Received>();
  for (const m of messages) out.set(m.topic, m);
  return out;
}

t.test('retained discovery configs match the documented schema; states follow samples and input edges', async (t) => {
  const b = await broker(t);
  if (!b) return;
  const link = await makeLink(t, { url: b.url });
  await link.start();
  const hal = await simHal(t);
  const feed = manualFeed();
  const { log } = linesLogger();
  const bridge = makeBridge(t, { link, hal, feed, stateFile: tempFile(t, 'homeassistant.json'), log, agentsRunning: () => 3 });
  await bridge.start();
  await waitFor(() => link.state().queue.queued === 0, 'the configs and first states to be delivered');

  // A subscriber that arrives afterwards still gets every config: they are retained.
  const rec = await recordMessages(b.url, ['homeassistant/#', 'openstarry/dev1/state/ha/#']);
  t.teardown(() => rec.close());
  // env0 (bme280): 3 quantities, gps0: 6, pir, fan, and the board's 3; the camera has no entity.
  await waitFor(() => rec.messages.filter((m) => CONFIG.test(m.topic)).length >= 14, '14 retained configs');
  const configs = new Map(rec.messages.filter((m) => CONFIG.test(m.topic)).map((m) => [m.topic, { retain: m.retain, json: JSON.parse(m.payload) as Record<string, unknown> }]));
  t.equal(configs.size, 14);
  t.ok([...configs.values()].every((c) => c.retain), 'every config is retained');
  t.same([...configs.keys()].map((k) => k.replace(CONFIG, '$1:$2')).sort(), [
    'binary_sensor:_board_link', 'binary_sensor:pir',
    'sensor:_board_agents_running', 'sensor:_board_queue',
    'sensor:env0_humidity', 'sensor:env0_pressure', 'sensor:env0_temperature',
    'sensor:gps0_altitude', 'sensor:gps0_fix', 'sensor:gps0_latitude', 'sensor:gps0_longitude', 'sensor:gps0_satellites', 'sensor:gps0_speed',
    'switch:fan',
  ]);

  // Home Assistant's "MQTT Sensor" page: state_topic, unit_of_measurement, device_class, state_class; its "MQTT"
  // page, "MQTT Discovery": unique_id, and `device` with identifiers (a list), name, model, manufacturer, sw_version;
  // availability_topic with payload_available / payload_not_available and availability_template.
  const device = { identifiers: ['openstarry_dev1'], name: 'dev1', manufacturer: 'OpenStarry', model: 'sim', sw_version: '0.0.0-test' };
  const availability = {
    availability_topic: 'openstarry/dev1/status',
    availability_template: "{{ 'online' if value_json.online else 'offline' }}",
    payload_available: 'online',
    payload_not_available: 'offline',
  };
  t.same(configs.get('homeassistant/sensor/dev1/env0_temperature/config')?.json, {
    name: 'env0 temperature',
    unique_id: 'openstarry_dev1_env0_temperature',
    state_topic: 'openstarry/dev1/state/ha/device/env0/temperature',
    state_class: 'measurement',
    unit_of_measurement: '°C',
    device_class: 'temperature',
    ...availability,
    device,
  });
  t.match(configs.get('homeassistant/sensor/dev1/env0_humidity/config')?.json, { unit_of_measurement: '%', device_class: 'humidity', state_class: 'measurement' });
  t.match(configs.get('homeassistant/sensor/dev1/env0_pressure/config')?.json, { unit_of_measurement: 'hPa', device_class: 'atmospheric_pressure', state_class: 'measurement' });
  // "MQTT Binary sensor": payload_on / payload_off, device_class motion for a PIR.
  t.match(configs.get('homeassistant/binary_sensor/dev1/pir/config')?.json, { state_topic: 'openstarry/dev1/state/ha/device/pir', payload_on: 'ON', payload_off: 'OFF', device_class: 'motion', unique_id: 'openstarry_dev1_pir', device });
  // "MQTT Switch": command_topic, state_topic, payload_on/off (sent), state_on/off (received).
  t.same(configs.get('homeassistant/switch/dev1/fan/config')?.json, {
    name: 'fan',
    unique_id: 'openstarry_dev1_fan',
    state_topic: 'openstarry/dev1/state/ha/device/fan',
    command_topic: 'openstarry/dev1/cmd/ha/fan',
    payload_on: 'ON',
    payload_off: 'OFF',
    state_on: 'ON',
    state_off: 'OFF',
    device_class: 'switch',
    ...availability,
    device,
  });
  t.match(configs.get('homeassistant/binary_sensor/dev1/_board_link/config')?.json, { device_class: 'connectivity', entity_category: 'diagnostic' });
  const uniqueIds = [...configs.values()].map((c) => c.json.unique_id);
  t.equal(new Set(uniqueIds).size, uniqueIds.length, 'unique_id is unique');

  // The availability topic is the link's retained birth: its JSON has the flag the template reads.
  const status = await recordMessages(b.url, ['openstarry/dev1/status']);
  t.teardown(() => status.close());
  await waitFor(() => status.messages.length > 0, 'the retained status');
  t.match(JSON.parse(status.messages[0]!.payload), { online: true });

  // First states: the relay (safe state off), the input, the board's entities.
  await waitFor(() => latest(rec.messages).get('openstarry/dev1/state/ha/board/agents_running') !== undefined, 'the board states');
  let states = latest(rec.messages);
  t.equal(states.get('openstarry/dev1/state/ha/device/fan')?.payload, 'OFF');
  t.equal(states.get('openstarry/dev1/state/ha/board/agents_running')?.payload, '3');
  t.equal(states.get('openstarry/dev1/state/ha/board/link')?.payload, 'ON');
  t.ok(states.get('openstarry/dev1/state/ha/device/fan')?.retain, 'states are retained');

  // A sample of env0 (real readings of the simulated BME280) becomes its quantities' states.
  const env0 = hal.registry.get('env0')?.device;
  if (env0?.kind !== 'sensor') throw new Error('env0 is not a sensor');
  const temperature = await env0.read('temperature');
  feed.emit({ deviceId: 'env0', values: { temperature, humidity: 41.234 }, at: Date.now() });
  await waitFor(() => latest(rec.messages).has('openstarry/dev1/state/ha/device/env0/humidity'), 'the humidity state');
  states = latest(rec.messages);
  t.equal(states.get('openstarry/dev1/state/ha/device/env0/humidity')?.payload, '41.23', 'two decimals');
  t.equal(Number(states.get('openstarry/dev1/state/ha/device/env0/temperature')?.payload), Math.round(temperature * 100) / 100);

  // The PIR's line goes high: a debounced rising edge, and the binary sensor's state says ON.
  const line = 27; // pin 13 on the sim header = GPIO27
  hal.sim.gpio.drive(line, 1);
  await waitFor(() => latest(rec.messages).get('openstarry/dev1/state/ha/device/pir')?.payload === 'ON', 'the PIR state ON');
  hal.sim.gpio.drive(line, 0);
  await waitFor(() => latest(rec.messages).get('openstarry/dev1/state/ha/device/pir')?.payload === 'OFF', 'the PIR state OFF');

  t.match(bridge.status(), { enabled: true, prefix: 'homeassistant', entities: 14, configs: { published: 14, removed: 0 }, commands: { received: 0 } });
});

t.test('ON to the fan switches the sim relay and its state follows; an owned actuator refuses; bad commands are refused', async (t) => {
  const b = await broker(t);
  if (!b) return;
  const link = await makeLink(t, { url: b.url, maxIncomingBytes: 1024 });
  await link.start();
  const { log, lines } = linesLogger();
  const hal = await simHal(t, [], log);
  const rec = await recordMessages(b.url, ['openstarry/dev1/state/ha/device/fan']);
  t.teardown(() => rec.close());
  const pub = (payload: string | Buffer, retain = false) => rec.client.publishAsync('openstarry/dev1/cmd/ha/fan', payload, { qos: 1, retain });
  // A retained ON left at the broker reaches the bridge when it subscribes (flagged retained): it would switch the
  // relay again at every reconnect, so it is refused. Cleared afterwards with an empty retained publish (malformed).
  await pub('ON', true);
  const bridge = makeBridge(t, { link, hal, feed: manualFeed(), stateFile: tempFile(t, 'homeassistant.json'), log });
  await bridge.start();
  await waitFor(() => bridge.status().commands.malformed === 1, 'the retained command refused');
  await pub('', true);
  await waitFor(() => bridge.status().commands.malformed === 2, 'the clearing publish counted');
  await waitFor(() => link.state().subscriptions === 2, 'the command subscriptions');
  await waitFor(() => rec.messages.at(-1)?.payload === 'OFF', 'the fan state OFF');
  const fan = hal.registry.get('fan')!.device!;
  t.equal(fan.status().value, 'off', 'the retained ON did not switch the relay');

  await pub('ON');
  await waitFor(() => fan.status().value === 'on', 'the relay to switch on');
  await waitFor(() => rec.messages.at(-1)?.payload === 'ON', 'the fan state ON');
  t.equal(hal.sim.gpio.level(17), 1, 'the relay coil (pin 11 = GPIO17) is driven');
  await pub('OFF');
  await waitFor(() => rec.messages.at(-1)?.payload === 'OFF', 'the fan state OFF again');
  t.equal(fan.status().value, 'off');

  // An agent owns the fan: Home Assistant cannot fight it (ERR_DEVICE_BUSY), logged and counted, relay untouched.
  hal.service.admit('p7', 'climate', ['actuator:fan:control']);
  await pub('ON');
  await waitFor(() => bridge.status().commands.refused === 1, 'the refusal');
  t.equal(fan.status().value, 'off');
  t.match(bridge.status().lastRefusal, /^fan ON: ERR_DEVICE_BUSY: .*owned by agent climate/);
  t.same(hal.service.operatorStats(), { applied: 2, refused: 1 });
  hal.service.release('p7');

  // Malformed: not ON/OFF, too long for a command, no such switch.
  await pub('on');
  await pub('TOGGLE');
  await pub(Buffer.alloc(100, 'O'));
  await rec.client.publishAsync('openstarry/dev1/cmd/ha/pir', 'ON', { qos: 1 });
  await waitFor(() => bridge.status().commands.malformed === 6, 'four more malformed commands');
  // Over the link's maxIncomingBytes: dropped by the link before it reaches the bridge.
  await pub(Buffer.alloc(2048, 'x'));
  await waitFor(() => link.state().incoming.oversized === 1, 'the oversized one dropped by the link');
  t.equal(fan.status().value, 'off', 'none of them switched the relay');
  t.match(bridge.status().commands, { received: 9, applied: 2, refused: 1, malformed: 6 });
  t.ok(lines.some((l) => l.includes('operator command refused (homeassistant): fan "on"')), 'the HAL logs the refusal');
  t.ok(lines.some((l) => /command on openstarry\/dev1\/cmd\/ha\/fan refused: payload "TOGGLE" is not ON or OFF/.test(l)), 'malformed commands are logged');
  t.ok(lines.some((l) => /refused: retained/.test(l)));
  t.ok(lines.some((l) => /no switch "pir"/.test(l)));

  // A reconnect resubscribes the command topics (through the link).
  await b.restart();
  await waitFor(() => link.state().state === 'connected' && link.state().reconnects === 1, 'the link to reconnect');
  const again = await recordMessages(b.url, []);
  t.teardown(() => again.close());
  let on = false;
  for (let i = 0; i < 50 && !on; i++) {
    await again.client.publishAsync('openstarry/dev1/cmd/ha/fan', 'ON', { qos: 1 });
    await new Promise((r) => setTimeout(r, 50));
    on = fan.status().value === 'on';
  }
  t.ok(on, 'a command after the broker restart reaches the relay');
});

t.test('a device removed from the config gets an empty retained config at the next boot', async (t) => {
  const b = await broker(t);
  if (!b) return;
  const stateFile = tempFile(t, 'homeassistant.json');
  const first = await makeLink(t, { url: b.url });
  await first.start();
  const hal1 = await simHal(t, [{ id: 'pump', driver: 'relay', pin: 15, safeState: 'off' }]);
  const bridge1 = makeBridge(t, { link: first, hal: hal1, feed: manualFeed(), stateFile, log: linesLogger().log });
  await bridge1.start();
  t.ok(bridge1.entities.some((e) => e.configTopic === 'homeassistant/switch/dev1/pump/config'));
  await waitFor(() => first.state().queue.queued === 0, 'the first run delivered');
  await bridge1.close();
  await first.close();

  const watch = await recordMessages(b.url, ['homeassistant/switch/#']);
  t.teardown(() => watch.close());
  await waitFor(() => watch.messages.some((m) => m.topic === 'homeassistant/switch/dev1/pump/config' && m.payload !== ''), 'the pump config, retained from the first run');

  // Next boot: the pump is gone from the config.
  const second = await makeLink(t, { url: b.url });
  await second.start();
  const hal2 = await simHal(t);
  const bridge2 = makeBridge(t, { link: second, hal: hal2, feed: manualFeed(), stateFile, log: linesLogger().log });
  await bridge2.start();
  await waitFor(() => watch.messages.some((m) => m.topic === 'homeassistant/switch/dev1/pump/config' && m.payload === ''), 'the empty config for the pump');
  t.match(bridge2.status().configs, { removed: 1 });
  await waitFor(() => second.state().queue.queued === 0, 'the second run delivered');
  // A subscriber arriving now sees the fan's config and nothing for the pump: the broker dropped it.
  const fresh = await recordMessages(b.url, ['homeassistant/switch/#']);
  t.teardown(() => fresh.close());
  await waitFor(() => fresh.messages.length >= 1, 'the retained switch configs');
  await new Promise((r) => setTimeout(r, 200)); // let any further retained message arrive (not a timing assertion: only more messages could show up)
  t.same(fresh.messages.map((m) => m.topic), ['homeassistant/switch/dev1/fan/config']);

  // A third boot with the same config clears nothing more.
  await bridge2.close();
  await second.close();
  const third = await makeLink(t, { url: b.url });
  await third.start();
  const bridge3 = makeBridge(t, { link: third, hal: hal2, feed: manualFeed(), stateFile, log: linesLogger().log });
  await bridge3.start();
  t.match(bridge3.status().configs, { removed: 0, published: 14 });
});

t.test("Home Assistant's online announcement brings every config again, at most once per REANNOUNCE_MIN_GAP_MS", async (t) => {
  const b = await broker(t);
  if (!b) return;
  const link = await makeLink(t, { url: b.url });
  await link.start();
  const hal = await simHal(t);
  const clock = new ManualClock();
  const { log, lines } = linesLogger();
  const bridge = makeBridge(t, { link, hal, feed: manualFeed(), stateFile: tempFile(t, 'homeassistant.json'), log, clock });
  await bridge.start();
  await waitFor(() => link.state().subscriptions === 2, 'the subscriptions');
  const rec = await recordMessages(b.url, []);
  t.teardown(() => rec.close());
  const delivered = () => link.state().incoming.delivered;
  const before = delivered();
  await rec.client.publishAsync('homeassistant/status', 'online', { qos: 1 });
  await waitFor(() => delivered() === before + 1, 'the announcement delivered');
  t.equal(bridge.status().configs.published, 14, 'right after our own announcement: ignored');
  clock.advance(REANNOUNCE_MIN_GAP_MS);
  await rec.client.publishAsync('homeassistant/status', 'offline', { qos: 1 });
  await rec.client.publishAsync('homeassistant/status', 'online', { qos: 1 });
  await waitFor(() => delivered() === before + 3, 'two more delivered');
  t.equal(bridge.status().configs.published, 28, 'every config published again');
  await rec.client.publishAsync('homeassistant/status', 'online', { qos: 1 });
  await waitFor(() => delivered() === before + 4, 'one more delivered');
  t.equal(bridge.status().configs.published, 28, 'a flood of announcements does not flood the queue');

  // A flood of bad commands is counted in full and logged at most 10 at once (then one a second, on the clock).
  for (let i = 0; i < 15; i++) await rec.client.publishAsync('openstarry/dev1/cmd/ha/fan', `X${i}`, { qos: 1 });
  await waitFor(() => bridge.status().commands.malformed === 15, 'fifteen malformed');
  const logged = () => lines.filter((l) => l.includes('cmd/ha/fan refused')).length;
  t.equal(logged(), 10);
  clock.advance(1000);
  await rec.client.publishAsync('openstarry/dev1/cmd/ha/fan', 'X', { qos: 1 });
  await waitFor(() => bridge.status().commands.malformed === 16, 'one more');
  t.equal(logged(), 11, 'a second later one more line');
});
