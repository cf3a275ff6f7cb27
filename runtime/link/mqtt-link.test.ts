// The MQTT link against a real mosquitto (docs/ARCHITECTURE.md "Testing against real parts"): birth and presence, QoS 1 delivery, resubscribe after a
// broker restart, oversized and malformed input, MQTT 5 request/response, MQTT 3.1.1, bad credentials, and a
// start() that does not wait for an unreachable broker.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import t from 'tap';
import * as z from 'zod';
import { startMosquitto } from '../../scripts/testing/mosquitto.ts';
import { recordMessages, waitFor } from '../../scripts/testing/mqtt-test-kit.ts';
import { requireTool } from '../../scripts/testing/system-deps.ts';
import { makeLink } from './link.test-support.ts';

const run = promisify(execFile);

t.test('birth: retained online status, seen by mosquitto_sub', async (t) => {
  if (!requireTool(t, 'mosquitto', 'mosquitto') || !requireTool(t, 'mosquitto_sub', 'mosquitto-clients')) return;
  const broker = await startMosquitto({ dir: t.testdir() });
  t.teardown(() => broker.kill());
  const link = await makeLink(t, { url: broker.url });
  await link.start();
  t.equal(link.state().state, 'connected');
  // A subscriber that arrives later still gets it: it is retained.
  const { stdout } = await run('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(broker.port), '-t', 'openstarry/dev1/status', '-C', '1', '-W', '5', '-v']);
  const [topic, json] = [stdout.slice(0, stdout.indexOf(' ')), stdout.slice(stdout.indexOf(' ') + 1)];
  t.equal(topic, 'openstarry/dev1/status');
  t.match(JSON.parse(json), { online: true, deviceId: 'dev1', version: '0.0.0-test', startedAt: String });
  // A clean stop leaves {"online":false} retained.
  await link.close();
  t.equal(link.state().state, 'stopped');
  const after = await run('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(broker.port), '-t', 'openstarry/dev1/status', '-C', '1', '-W', '5']);
  t.match(JSON.parse(after.stdout), { online: false, deviceId: 'dev1', reason: 'stopped' });
});

t.test('QoS 1 publish, QoS 0 publish, subscribe, and resubscribe after a broker restart', async (t) => {
  if (!requireTool(t, 'mosquitto', 'mosquitto')) return;
  const broker = await startMosquitto({ dir: t.testdir() });
  t.teardown(() => broker.kill());
  const rec = await recordMessages(broker.url, ['openstarry/dev1/out/#']);
  t.teardown(() => rec.close());
  const link = await makeLink(t, { url: broker.url });
  await link.start();
  const got: string[] = [];
  link.subscribe('event/#', (m) => void got.push(`${m.relativeTopic}=${m.payload.toString()}`), { qos: 1 });
  t.equal(link.publish('out/hello', 'one'), 'queued');
  t.equal(link.publish('out/hello', 'zero', { qos: 0 }), 'sent');
  await waitFor(() => rec.messages.length >= 2, 'two messages');
  t.same(rec.messages.map((m) => m.payload).sort(), ['one', 'zero']);
  await waitFor(() => link.state().queue.queued === 0, 'the queue to empty');
  t.equal(link.state().delivered, 2, 'the PUBACKed QoS 1 message and the QoS 0 one are delivered');

  await rec.client.publishAsync('openstarry/dev1/event/before', 'b', { qos: 1 });
  await waitFor(() => got.length === 1, 'the event before the restart');

  await broker.restart();
  await waitFor(() => link.state().state === 'connected' && link.state().reconnects === 1, 'the link to reconnect');
  await waitFor(() => rec.client.connected, 'the recorder to reconnect');
  // The link subscribes right after CONNACK; a publish after the reconnect must reach the handler.
  const pub = await recordMessages(broker.url, []);
  t.teardown(() => pub.close());
  await waitFor(() => link.state().subscriptions === 1, 'subscriptions');
  let delivered = false;
  for (let i = 0; i < 50 && !delivered; i++) {
    await pub.client.publishAsync('openstarry/dev1/event/after', `a${i}`, { qos: 1 });
    await new Promise((r) => setTimeout(r, 50));
    delivered = got.some((g) => g.startsWith('event/after='));
  }
  t.ok(delivered, `the handler got an event published after the reconnect: ${JSON.stringify(got)}`);
  t.match(got[0], 'event/before=b');
});

t.test('oversized and malformed incoming payloads are dropped and counted; the link keeps working', async (t) => {
  if (!requireTool(t, 'mosquitto', 'mosquitto')) return;
  const broker = await startMosquitto({ dir: t.testdir() });
  t.teardown(() => broker.kill());
  const link = await makeLink(t, { url: broker.url, maxIncomingBytes: 1024 });
  await link.start();
  const good: unknown[] = [];
  link.subscribe('event/+', (m) => void good.push(m.data), { qos: 1, schema: z.object({ n: z.number() }) });
  link.subscribe('cmd/+', () => {
    throw new Error('handler bug');
  });
  await waitFor(() => link.state().subscriptions === 2, 'subscriptions');
  const pub = await recordMessages(broker.url, []);
  t.teardown(() => pub.close());
  await pub.client.publishAsync('openstarry/dev1/event/x', Buffer.alloc(1025, 0x61), { qos: 1 }); // oversized
  await pub.client.publishAsync('openstarry/dev1/event/x', '{"n": not json', { qos: 1 }); // malformed JSON
  await pub.client.publishAsync('openstarry/dev1/event/x', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { qos: 1 }); // not UTF-8
  await pub.client.publishAsync('openstarry/dev1/event/x', '{"n":"a string"}', { qos: 1 }); // fails the schema
  await pub.client.publishAsync('openstarry/dev1/cmd/x', 'boom', { qos: 1 }); // the handler throws
  await pub.client.publishAsync('openstarry/dev1/event/x', '{"n":42}', { qos: 1 }); // fine
  await waitFor(() => good.length === 1, 'the good message');
  t.same(good, [{ n: 42 }]);
  const s = link.state();
  t.equal(s.droppedIncoming, 4);
  t.match(s.incoming, { oversized: 1, malformed: 3, handlerErrors: 1 });
  t.equal(s.state, 'connected');
});

t.test('MQTT 5 request/response: the handler sees responseTopic and correlationData and replies', async (t) => {
  if (!requireTool(t, 'mosquitto', 'mosquitto')) return;
  const broker = await startMosquitto({ dir: t.testdir() });
  t.teardown(() => broker.kill());
  const link = await makeLink(t, { url: broker.url });
  await link.start();
  link.subscribe('cmd/+', (m) => m.reply(JSON.stringify({ ok: true, method: m.relativeTopic })), { qos: 1 });
  await waitFor(() => link.state().subscriptions === 1, 'subscription');
  const requester = await recordMessages(broker.url, ['clients/req1/replies'], { protocolVersion: 5 });
  t.teardown(() => requester.close());
  const corr = Buffer.from('corr-123');
  await requester.client.publishAsync('openstarry/dev1/cmd/status', '{}', { qos: 1, properties: { responseTopic: 'clients/req1/replies', correlationData: corr } });
  await waitFor(() => requester.messages.length === 1, 'the reply');
  const reply = requester.messages[0];
  t.same(JSON.parse(reply?.payload ?? ''), { ok: true, method: 'cmd/status' });
  t.same(reply?.properties?.correlationData, corr);
});

t.test('MQTT 3.1.1 mode: connects, publishes, receives; reply falls back to reply/<correlation>', async (t) => {
  if (!requireTool(t, 'mosquitto', 'mosquitto')) return;
  const broker = await startMosquitto({ dir: t.testdir() });
  t.teardown(() => broker.kill());
  const link = await makeLink(t, { url: broker.url, protocolVersion: '3.1.1' });
  await link.start();
  t.equal(link.state().protocolVersion, 4);
  link.subscribe('cmd/+', (m) => {
    t.throws(() => m.reply('x'), { code: 'ERR_LINK_NO_RESPONSE_TOPIC' });
    m.reply('pong', { fallbackCorrelation: 'abc' });
  });
  await waitFor(() => link.state().subscriptions === 1, 'subscription');
  const other = await recordMessages(broker.url, ['openstarry/dev1/#'], { protocolVersion: 4 });
  t.teardown(() => other.close());
  await other.client.publishAsync('openstarry/dev1/cmd/ping', 'ping', { qos: 1 });
  await waitFor(() => other.messages.some((m) => m.topic === 'openstarry/dev1/reply/abc'), 'the fallback reply');
  link.publish('out/x', 'hi');
  await waitFor(() => other.messages.some((m) => m.topic === 'openstarry/dev1/out/x' && m.payload === 'hi'), 'a QoS 1 message');
});

t.test('bad credentials: start() returns, the link stays offline and says why', async (t) => {
  if (!requireTool(t, 'mosquitto', 'mosquitto') || !requireTool(t, 'mosquitto_passwd', 'mosquitto')) return;
  const broker = await startMosquitto({ dir: t.testdir(), users: [{ username: 'board', password: 'right' }] });
  t.teardown(() => broker.kill());
  const link = await makeLink(t, { url: broker.url, username: 'board', password: 'wrong', startWaitMs: 500 });
  await link.start();
  t.not(link.state().state, 'connected');
  await waitFor(() => /not authori[sz]ed|bad user ?name or password/i.test(link.state().lastError ?? ''), `an auth error, got ${link.state().lastError}`);
  t.equal(link.publish('out/x', 'kept'), 'queued', 'QoS 1 is still queued');
  t.equal(link.state().queue.queued, 1);
  t.equal(link.publish('out/x', 'lost', { qos: 0 }), 'dropped');
  t.equal(link.state().droppedQos0, 1);
  t.equal(link.state().delivered, 0, 'nothing is delivered offline');

  const ok = await makeLink(t, { url: broker.url, username: 'board', password: 'right' }, { deviceId: 'dev2' });
  await ok.start();
  t.equal(ok.state().state, 'connected', 'the right password connects');
});

t.test('an unreachable broker: start() returns after startWaitMs, offline, queueing', async (t) => {
  if (!requireTool(t, 'mosquitto', 'mosquitto')) return;
  const broker = await startMosquitto({ dir: t.testdir() });
  await broker.stop();
  t.teardown(() => broker.kill());
  const link = await makeLink(t, { url: broker.url, startWaitMs: 200 });
  await link.start();
  t.match(link.state().state, /^(offline|connecting)$/);
  t.match(link.state().lastError, /ECONNREFUSED/);
  link.publish('out/x', 'waiting');
  await broker.restart();
  const rec = await recordMessages(broker.url, ['openstarry/dev1/out/#']);
  t.teardown(() => rec.close());
  await waitFor(() => link.state().queue.queued === 0, 'the queue to drain after the broker came up');
  t.equal(link.state().state, 'connected');
});
