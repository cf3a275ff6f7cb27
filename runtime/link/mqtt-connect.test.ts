// connectMqttClient (mqtt-connect.ts): mqtt:// reaches the broker over node:net without mqtt.js loading its WebSocket
// and SOCKS transports; ws://, a SOCKS proxy and a certificate on mqtt:// go through mqtt.js's own connect(). mqtts://
// through the direct path is exercised against a real mosquitto with TLS in mqtt-link-tls.test.ts. The broker here
// is a plain TCP listener: the first bytes a client sends are an MQTT CONNECT (MQTT 3.1.1 §3.1: fixed header 0x10),
// and module loading is read from require's cache (mqtt.js and its transports are CommonJS).
import { createRequire } from 'node:module';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import type { Test } from 'tap';
import { connectMqttClient, prepareMqttConnect } from './mqtt-connect.ts';

const loaded = (pkg: string): boolean => Object.keys(createRequire(import.meta.url).cache).some((f) => f.includes(`/node_modules/${pkg}/`));

async function listener(t: Test): Promise<{ port: number; firstByte: Promise<number> }> {
  let resolve!: (b: number) => void;
  const firstByte = new Promise<number>((r) => (resolve = r));
  const server = net.createServer((s) => s.once('data', (d: Buffer) => { resolve(d[0] as number); s.destroy(); }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return { port: (server.address() as AddressInfo).port, firstByte };
}

t.test('mqtt:// sends a CONNECT over node:net; the WebSocket and SOCKS transports stay unloaded', async (t) => {
  const { port, firstByte } = await listener(t);
  const client = connectMqttClient(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, clientId: 'c1' }, {});
  t.teardown(() => { client.end(true); });
  t.equal(await firstByte, 0x10, 'the first packet is a CONNECT');
  t.notOk(loaded('ws'), 'ws not loaded');
  t.notOk(loaded('socks'), 'socks not loaded');
});

t.test('MQTTJS_SOCKS_PROXY set: the attempt goes through mqtt.js connect(), which loads its SOCKS transport', async (t) => {
  const { port } = await listener(t);
  const url = `mqtt://127.0.0.1:${port}`;
  const env = { MQTTJS_SOCKS_PROXY: 'socks5://127.0.0.1:1' };
  await prepareMqttConnect(url, {}, {});
  t.notOk(loaded('socks'), 'a URL that connects directly loads nothing more');
  t.throws(() => connectMqttClient(url, { reconnectPeriod: 0, clientId: 'c2' }, env), { code: 'ERR_LINK_CONFIG' }, 'without prepareMqttConnect, a clear error instead of a silent direct connection');
  await prepareMqttConnect(url, {}, env);
  const client = connectMqttClient(url, { reconnectPeriod: 0, clientId: 'c2' }, env);
  client.on('error', () => {});
  t.teardown(() => { client.end(true); });
  t.ok(loaded('socks'), 'mqtt.js loaded its SOCKS transport');
  t.ok(loaded('ws'), 'and, with it, its WebSocket transport');
});

t.test('ws:// after prepareMqttConnect: mqtt.js opens a WebSocket (an HTTP upgrade request) to the broker', async (t) => {
  const { port, firstByte } = await listener(t);
  const url = `ws://127.0.0.1:${port}/mqtt`;
  await prepareMqttConnect(url, {}, {});
  const client = connectMqttClient(url, { reconnectPeriod: 0, clientId: 'c3' }, {});
  client.on('error', () => {});
  t.teardown(() => { client.end(true); });
  t.equal(String.fromCharCode(await firstByte), 'G', 'the first bytes are "GET /mqtt" of the WebSocket handshake');
});
