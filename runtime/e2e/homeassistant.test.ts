// Home Assistant discovery through the real daemon (dist/) against a real mosquitto (issue 15): with
// `homeassistant.enabled` the sim board's entities appear as retained configs, env0's temperature is published, `ON`
// on the fan's command topic switches the relay (its state follows, counted in `status --json`), and a device taken
// out of the config loses its entity (empty retained config) at the next start.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { bundledSources, staticClosure } from '../../scripts/testing/bundle-imports.ts';
import { startMosquitto } from '../../scripts/testing/mosquitto.ts';
import { recordMessages, waitFor } from '../../scripts/testing/mqtt-test-kit.ts';
import { requireTool } from '../../scripts/testing/system-deps.ts';
import type { DaemonStatus, DeviceListEntry } from '../control/protocol.ts';
import { ROOT, requireBuild, startDaemon, templatesWithConfig, tempDir } from './harness.ts';

const CONFIG = /^homeassistant\/(sensor|binary_sensor|switch)\/dev1\/([^/]+)\/config$/;

t.test('the sim board in Home Assistant: configs, states, a switch command, an entity removed', async (t) => {
  if (!requireTool(t, 'mosquitto', 'mosquitto')) return;
  const dir = tempDir(t);
  const broker = await startMosquitto({ dir: path.join(dir, 'broker') });
  t.teardown(() => broker.kill());
  const ha = ['deviceId: dev1', 'mqtt:', `  url: ${broker.url}`, '  startWaitMs: 3000', 'homeassistant:', '  enabled: true', '  interval: 1s'].join('\n');
  const { config } = templatesWithConfig(dir, {}, `${ha}\ndevices:\n  - { id: pump, driver: relay, pin: 15, safeState: off }\n`);
  const watch = await recordMessages(broker.url, ['homeassistant/#', 'openstarry/dev1/state/ha/#']);
  t.teardown(() => watch.close());

  const d = await startDaemon(t, { dir, args: ['--config', config] });
  // env0 3 + gps0 6 + pir + fan + pump + the board's 3 = 15.
  await d.waitFor('the configs', async () => ((await d.json<DaemonStatus>('status')).homeassistant?.configs as { published: number } | undefined)?.published === 15);
  await waitFor(() => watch.messages.filter((m) => CONFIG.test(m.topic)).length >= 15, 'the configs at the broker');
  const fanConfig = JSON.parse(watch.messages.find((m) => m.topic === 'homeassistant/switch/dev1/fan/config')!.payload) as Record<string, unknown>;
  t.match(fanConfig, { command_topic: 'openstarry/dev1/cmd/ha/fan', state_topic: 'openstarry/dev1/state/ha/device/fan', availability_topic: 'openstarry/dev1/status', device: { identifiers: ['openstarry_dev1'], model: 'sim', sw_version: String } });
  // The sensor feed reads env0 from the start: its temperature arrives as a number.
  await waitFor(() => watch.messages.some((m) => m.topic === 'openstarry/dev1/state/ha/device/env0/temperature'), 'env0 temperature', 15_000);
  const temperature = Number(watch.messages.find((m) => m.topic === 'openstarry/dev1/state/ha/device/env0/temperature')!.payload);
  t.ok(temperature > -40 && temperature < 85, `a temperature: ${temperature}`);
  await waitFor(() => watch.messages.some((m) => m.topic === 'openstarry/dev1/state/ha/board/agents_running' && m.payload === '1'), 'the master counted as running');

  // ON to the fan: the relay switches (openstarry devices shows it) and the state topic follows.
  await watch.client.publishAsync('openstarry/dev1/cmd/ha/fan', 'ON', { qos: 1 });
  await d.waitFor('the fan on', async () => (await d.json<DeviceListEntry[]>('devices')).find((x) => x.id === 'fan')?.value === 'on');
  await waitFor(() => watch.messages.filter((m) => m.topic === 'openstarry/dev1/state/ha/device/fan').at(-1)?.payload === 'ON', 'the fan state ON');
  await watch.client.publishAsync('openstarry/dev1/cmd/ha/fan', 'SPIN', { qos: 1 });
  await d.waitFor('the counters', async () => {
    const s = (await d.json<DaemonStatus>('status')).homeassistant;
    return (s?.commands as { applied: number; malformed: number } | undefined)?.malformed === 1;
  });
  t.match((await d.json<DaemonStatus>('status')).homeassistant, { enabled: true, prefix: 'homeassistant', entities: 15, commands: { received: 2, applied: 1, refused: 0, malformed: 1 } });
  t.match(d.log(), /actuator fan -> "on" \(operator: homeassistant\)/, "the HAL logs who switched it");

  // Stop, take the pump out of the config, start again: its switch's config is cleared (empty, retained).
  d.child.kill('SIGTERM');
  t.equal(await d.exited, 0);
  writeFileSync(config, `templates:\n  dir: ./templates\nagents:\n  stopGraceMs: 2000\n${ha}\n`);
  const again = await startDaemon(t, { dir, args: ['--config', config] });
  await waitFor(() => watch.messages.some((m) => m.topic === 'homeassistant/switch/dev1/pump/config' && m.payload === ''), 'the pump config cleared');
  t.match((await again.json<DaemonStatus>('status')).homeassistant, { configs: { published: 14, removed: 1 } });
});

t.test('off by default, and then not loaded: the daemon boot holds only the config fragment', async (t) => {
  requireBuild();
  // The chunk holding daemon.ts (main.ts loads it with import()), and everything it loads statically.
  const dist = path.join(ROOT, 'dist');
  const chunks = readdirSync(dist).filter((f) => f.startsWith('chunk-') && f.endsWith('.js') && readFileSync(path.join(dist, `${f}.map`), 'utf8').includes('runtime/daemon/daemon.ts'));
  t.equal(chunks.length, 1, `one chunk holds daemon.ts: ${chunks.join(', ')}`);
  const sources = await bundledSources((await staticClosure(path.join(dist, chunks[0]!))).files, ROOT);
  t.ok(sources.includes('runtime/daemon/daemon.ts') && sources.includes('runtime/homeassistant/config.ts'), 'the boot has the daemon and the config fragment');
  t.same(sources.filter((s) => s.startsWith('runtime/homeassistant/') && s !== 'runtime/homeassistant/config.ts'), [], 'nothing else of runtime/homeassistant/');
  t.notOk(sources.includes('runtime/daemon/homeassistant-wiring.ts'), 'nor its wiring');
});
