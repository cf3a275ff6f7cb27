// The `mqtt` config fragment: defaults, strictness, and errors that name the field; settings resolution reads the
// files the config names and names the field when one is missing.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { mqttConfigSchema, parseMqttConfig } from './mqtt-config.ts';
import { connectOptions, redactUrl, resolveMqttSettings } from './mqtt-settings.ts';

const issues = (input: unknown): string[] => {
  const r = mqttConfigSchema().safeParse(input);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

t.test('an empty fragment gets every default', async (t) => {
  t.same(parseMqttConfig(undefined), {
    keepaliveSec: 30,
    reconnect: { minMs: 1000, maxMs: 60_000 },
    queue: { maxMessages: 10_000, maxBytes: 16 * 2 ** 20, overflow: 'drop-oldest', fsyncIntervalMs: 1000 },
    maxIncomingBytes: 256 * 1024,
    startWaitMs: 2000,
    embeddedBroker: {
      host: '127.0.0.1',
      port: 1883,
      maxPacketBytes: 264 * 1024,
      maxConnections: 32,
      retained: { maxMessages: 1000, maxBytes: 8 * 2 ** 20 },
      publishRate: { perSecond: 100, burst: 500 },
      allowPublish: [],
    },
    commands: ['status', 'listAgents', 'templates.list', 'devices.list'],
  });
});

t.test('accepted forms', async (t) => {
  for (const url of ['mqtt://b:1883', 'mqtts://b.example', 'ws://b/mqtt', 'wss://u:p@b:443/mqtt']) t.same(issues({ url }), [], url);
  t.equal(parseMqttConfig({ url: 'mqtt://b', protocolVersion: '3.1.1' }).protocolVersion, 4);
  t.equal(parseMqttConfig({ url: 'mqtt://b', protocolVersion: 4 }).protocolVersion, 4);
  t.equal(parseMqttConfig({ url: 'mqtt://b', protocolVersion: 5 }).protocolVersion, 5);
  t.same(issues({ url: 'mqtts://b', tls: { ca: '/etc/ca.pem', cert: 'c.pem', key: 'k.pem' }, username: 'u', passwordFile: '/etc/pw', topicPrefix: 'site/a/' }), []);
});

t.test('errors name the field path', async (t) => {
  t.match(issues({ url: 'http://b' }), [/^url: protocol must be mqtt/]);
  t.match(issues({ url: 'not a url' }), [/^url: must be a URL/]);
  t.match(issues({ protocolVersion: 3 }), [/^protocolVersion: /]);
  t.match(issues({ topicPrefix: 'no/slash' }), [/^topicPrefix: must end in "\/"/]);
  t.match(issues({ topicPrefix: 'a/+/' }), [/^topicPrefix: must not contain/]);
  t.match(issues({ queue: { maxMessages: 0 } }), [/^queue\.maxMessages: /]);
  t.match(issues({ queue: { overflow: 'drop-newest' } }), [/^queue\.overflow: /]);
  t.match(issues({ reconnect: { minMs: 5000, maxMs: 1000 } }), [/^reconnect\.minMs: must not be larger/]);
  t.match(issues({ url: 'mqtt://b', password: 'x', passwordFile: '/p' }), [/^passwordFile: give password or passwordFile/]);
  t.match(issues({ url: 'mqtt://b', tls: {} }), [/^url: must be mqtts/]);
  t.match(issues({ url: 'mqtts://b', tls: { cert: 'c' } }), [/^tls\.key: cert and key go together/]);
  t.match(issues({ protocolVersion: 5 }), [/^protocolVersion: the embedded broker speaks MQTT 3\.1\.1 only/]);
  t.match(issues({ embeddedBroker: { port: 70000 } }), [/^embeddedBroker\.port: /]);
  t.match(issues({ embeddedBroker: { maxPacketBytes: 10 } }), [/^embeddedBroker\.maxPacketBytes: /]);
  t.match(issues({ embeddedBroker: { maxConnections: 0 } }), [/^embeddedBroker\.maxConnections: /]);
  t.match(issues({ embeddedBroker: { retained: { maxBytes: 'lots' } } }), [/^embeddedBroker\.retained\.maxBytes: /]);
  t.match(issues({ embeddedBroker: { publishRate: { perSecond: -1 } } }), [/^embeddedBroker\.publishRate\.perSecond: /]);
  t.match(issues({ embeddedBroker: { allowPublish: ['$SYS/#'] } }), [/^embeddedBroker\.allowPublish\.0: must not contain NUL or start with "\$"/]);
  t.match(issues({ embeddedBroker: { usersFile: '' } }), [/^embeddedBroker\.usersFile: must be a file path/]);
});

t.test('unknown keys are rejected, at any depth', async (t) => {
  const r = mqttConfigSchema().safeParse({ keepAliveSec: 10, tls: { caFile: 'x' }, url: 'mqtts://b' });
  t.notOk(r.success);
  const text = r.success ? '' : JSON.stringify(r.error.issues);
  t.match(text, /keepAliveSec/);
  t.match(text, /caFile/);
});

t.test('settings: defaults from the device id; files read at start; a missing file names its field', async (t) => {
  const dir = t.testdir({ 'ca.pem': 'CA', 'pw': 'secret\nignored second line\n' });
  const s = await resolveMqttSettings(parseMqttConfig({ url: 'mqtts://b', tls: { ca: path.join(dir, 'ca.pem') }, username: 'u', passwordFile: path.join(dir, 'pw') }), 'pi-7');
  t.match(s, { clientId: 'openstarry-pi-7', topicPrefix: 'openstarry/pi-7/', protocolVersion: 5, embedded: false, password: 'secret', username: 'u' });
  t.equal(s.tls?.ca?.toString(), 'CA');
  t.equal(s.tls?.rejectUnauthorized, true);
  const embedded = await resolveMqttSettings(parseMqttConfig({}), 'pi-7');
  t.match(embedded, { url: 'mqtt://127.0.0.1:1883', embedded: true, protocolVersion: 4 });
  await writeFile(path.join(dir, 'unused'), '');
  await t.rejects(resolveMqttSettings(parseMqttConfig({ url: 'mqtts://b', tls: { cert: path.join(dir, 'nope.pem'), key: path.join(dir, 'ca.pem') } }), 'x'), { code: 'ERR_LINK_CONFIG', message: /^mqtt\.tls\.cert: cannot read .*nope\.pem/ });
  await t.rejects(resolveMqttSettings(parseMqttConfig({ url: 'mqtt://b', passwordFile: path.join(dir, 'missing') }), 'x'), { code: 'ERR_LINK_CONFIG', message: /^mqtt\.passwordFile: / });
});

t.test('redactUrl hides credentials', async (t) => {
  t.equal(redactUrl('mqtt://user:pass@b:1883'), 'mqtt://b:1883');
  t.equal(redactUrl('mqtt://b:1883'), 'mqtt://b:1883');
});

t.test('connectOptions: the broker URL taken apart as mqtt.js would, without its url.parse (DEP0169 on Node 24)', async (t) => {
  t.same(connectOptions('mqtt://127.0.0.1:1883', { keepalive: 30 }), { protocol: 'mqtt', host: '127.0.0.1', port: 1883, keepalive: 30 });
  t.same(connectOptions('mqtt://broker.local', {}), { protocol: 'mqtt', host: 'broker.local' }, 'no port: mqtt.js picks the protocol default');
  t.same(connectOptions('mqtt://[fe80::1]:1883', {}), { protocol: 'mqtt', host: 'fe80::1', port: 1883 }, 'IPv6 without brackets');
  t.same(connectOptions('ws://h:8080/mqtt?x=1', {}), { protocol: 'ws', host: 'h', port: 8080, path: '/mqtt?x=1' }, 'ws keeps its path');
  t.same(connectOptions('wss://[::1]', {}), { protocol: 'wss', host: '::1', path: '/' });
  t.same(connectOptions('mqtts://user:p%40ss@b:8883?clientId=fromUrl', { username: 'cfg', password: 'x', clientId: 'cfg-id', keepalive: 5 }),
    { protocol: 'mqtts', host: 'b', port: 8883, username: 'user', password: 'p@ss', clientId: 'fromUrl', keepalive: 5 }, "the URL's credentials and clientId win, as in mqtt.js");
});
