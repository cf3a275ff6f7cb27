// The embedded broker (aedes) and the MQTT infrastructure plugins: with no mqtt.url the link connects to it, a
// real mosquitto_pub reaches a subscriber of the board, a port in use is a clear error, stop is idempotent.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { InfrastructureRunner } from '../daemon/infrastructure.ts';
import { createLogger } from '../logging/logger.ts';
import { freePort } from '../../scripts/testing/mosquitto.ts';
import { waitFor } from '../../scripts/testing/mqtt-test-kit.ts';
import { requireTool } from '../../scripts/testing/system-deps.ts';
import { EmbeddedBroker } from './embedded-broker.ts';
import { createMqttInfrastructure } from './link-plugin.ts';
import { parseMqttConfig } from './mqtt-config.ts';

const run = promisify(execFile);
const quiet = createLogger('test', { write: () => undefined });

t.test('no mqtt.url: broker then link; mosquitto_pub to the embedded broker reaches the board', async (t) => {
  if (!requireTool(t, 'mosquitto_pub', 'mosquitto-clients')) return;
  const home = await mkdtemp(path.join(tmpdir(), 'os-embedded-'));
  t.teardown(() => rm(home, { recursive: true, force: true }));
  const port = await freePort();
  const config = parseMqttConfig({ embeddedBroker: { port } });
  const infra = createMqttInfrastructure({ config, deviceId: 'board1', version: '0.0.0-test', home, log: quiet });
  t.same(infra.plugins.map((p) => p.name), ['embedded-broker', 'mqtt-link']);
  const runner = new InfrastructureRunner(infra.plugins, quiet);
  t.teardown(() => runner.stopAll());
  await runner.startAll();
  const link = infra.link.link;
  t.match(infra.link.status(), { state: 'connected', url: `mqtt://127.0.0.1:${port}`, protocolVersion: 4 });
  const got: unknown[] = [];
  link.subscribe('event/+', (m) => void got.push({ topic: m.relativeTopic, data: m.data }), { qos: 1, json: true });
  await waitFor(() => link.state().subscriptions === 1, 'subscription');
  let sent = 0;
  while (got.length === 0 && sent < 50) {
    await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-q', '1', '-t', 'openstarry/board1/event/a/b', '-m', 'ignored']);
    await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-q', '1', '-t', 'openstarry/board1/event/alert:server_down', '-m', '{"host":"db1"}']);
    sent++;
    await new Promise((r) => setTimeout(r, 50));
  }
  t.same(got[0], { topic: 'event/alert:server_down', data: { host: 'db1' } });
  t.match(infra.broker?.status(), { state: 'running', port, clients: 1 });
  await runner.stopAll();
  t.equal(infra.link.status()?.state, 'stopped');
  t.equal(infra.broker?.status().state, 'stopped');
});

t.test('a port in use is a clear ERR_LINK_BROKER_LISTEN error; stop before or after is harmless', async (t) => {
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => blocker.close(() => r())));
  const port = (blocker.address() as net.AddressInfo).port;
  const broker = new EmbeddedBroker({ port, log: quiet });
  await broker.stop(); // never started: a no-op (InfrastructurePlugin contract)
  const again = new EmbeddedBroker({ port, log: quiet });
  await t.rejects(again.start(), { code: 'ERR_LINK_BROKER_LISTEN', message: new RegExp(`127\\.0\\.0\\.1:${port}: the port is in use`) });
  await again.stop();
  await again.stop();
});

t.test('port 0 picks a free port and url tells which', async (t) => {
  const broker = new EmbeddedBroker({ port: 0, log: quiet });
  t.teardown(() => broker.stop());
  await broker.start();
  t.match(broker.url, /^mqtt:\/\/127\.0\.0\.1:\d+$/);
  t.not(broker.url, 'mqtt://127.0.0.1:0');
});
