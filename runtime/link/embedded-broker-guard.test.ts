// Issue 13 findings 3 and 4 against the real embedded broker (aedes) with the daemon's real link connected to it,
// and real mqtt.js clients as the hostile local program: spoofing the board's retained status and state, taking
// over the daemon's session, a will on the board's status, oversized packets, a retained flood, a publish flood,
// a connection flood — each refused and counted, the link never reconnecting.
import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { IClientOptions, MqttClient } from 'mqtt';
import t from 'tap';
import type { Test } from 'tap';
import { InfrastructureRunner } from '../daemon/infrastructure.ts';
import { createLogger } from '../logging/logger.ts';
import { requireTool } from '../../scripts/testing/system-deps.ts';
import { connectOrError, publishOrClosed, recordMessages, waitFor } from '../../scripts/testing/mqtt-test-kit.ts';
import { createMqttInfrastructure } from './link-plugin.ts';
import type { MqttInfrastructure } from './link-plugin.ts';
import { parseMqttConfig } from './mqtt-config.ts';
import type { MqttConfigInput } from './mqtt-config.ts';

const quiet = createLogger('test', { write: () => undefined });
const PREFIX = 'openstarry/board1/';

async function board(t: Test, embeddedBroker: MqttConfigInput['embeddedBroker'] = {}, log = quiet): Promise<{ infra: MqttInfrastructure; url: string }> {
  const home = await mkdtemp(path.join(tmpdir(), 'os-broker-guard-'));
  t.teardown(() => rm(home, { recursive: true, force: true }));
  const config = parseMqttConfig({ embeddedBroker: { port: 0, ...embeddedBroker } });
  const infra = createMqttInfrastructure({ config, deviceId: 'board1', version: '0.0.0-test', home, log });
  const runner = new InfrastructureRunner(infra.plugins, quiet);
  t.teardown(() => runner.stopAll());
  await runner.startAll();
  t.equal(infra.link.status()?.state, 'connected');
  return { infra, url: infra.broker?.url ?? '' };
}

const attacker = connectOrError;

async function connected(url: string, options: IClientOptions = {}): Promise<MqttClient> {
  const c = await attacker(url, options);
  if (c instanceof Error) throw c;
  return c;
}

const tryPublish = publishOrClosed;

const guard = (infra: MqttInfrastructure) => infra.broker?.status().guard;

/** The retained message on `topic` a fresh subscriber gets, or undefined. */
async function retained(url: string, topic: string): Promise<string | undefined> {
  const r = await recordMessages(url, [topic], { protocolVersion: 4 });
  await new Promise((res) => setTimeout(res, 200));
  await r.close();
  return r.messages.find((m) => m.retain)?.payload;
}

t.test('a local client cannot overwrite the board\'s retained status or state', async (t) => {
  const { infra, url } = await board(t);
  infra.link.link.publishJson('state/master', { agent: 'master' }, { qos: 1, retain: true });
  await waitFor(() => guard(infra)?.retained.messages === 2, 'the board\'s status and state retained');
  const spoofed = JSON.stringify({ online: false, spoofed: true });
  for (const topic of ['status', 'state/master', 'reply/x', 'out/y']) {
    const c = await connected(url);
    t.equal(await tryPublish(c, PREFIX + topic, spoofed, true), 'closed', `${topic}: refused (connection closed, MQTT 3.1.1 §3.3.5)`);
    c.end(true);
  }
  t.match(JSON.parse((await retained(url, `${PREFIX}status`)) ?? '{}'), { online: true }, 'status still the board\'s');
  t.same(JSON.parse((await retained(url, `${PREFIX}state/master`)) ?? '{}'), { agent: 'master' });
  t.equal(guard(infra)?.refused.topic, 4);
  // What local programs are for: events and commands under the prefix, shared events.
  const c = await connected(url);
  for (const topic of [`${PREFIX}event/door:open`, `${PREFIX}cmd/status`, 'openstarry/all/event/x']) t.equal(await tryPublish(c, topic, '{}'), 'acked', topic);
  t.equal(await tryPublish(c, 'elsewhere/x', '{}'), 'closed', 'anything else is closed by default');
  c.end(true);
  t.equal(infra.link.status()?.reconnects, 0);
});

t.test('the daemon\'s client id and username are reserved; a will on the board\'s status refuses the CONNECT', async (t) => {
  const { infra, url } = await board(t);
  const takeover = await attacker(url, { clientId: 'openstarry-board1' });
  t.match(takeover, { code: 2 }, 'identifier rejected');
  const asDaemon = await attacker(url, { clientId: 'x1', username: 'openstarryd', password: 'guess' });
  t.match(asDaemon, { code: 4 }, 'bad user name or password');
  const idAndUser = await attacker(url, { clientId: 'openstarry-board1', username: 'openstarryd', password: 'guess' });
  t.match(idAndUser, { code: 2 });
  const will = await attacker(url, { will: { topic: `${PREFIX}status`, payload: Buffer.from('{"online":false}'), qos: 1, retain: true } });
  t.match(will, { code: 5 }, 'not authorized');
  await new Promise((r) => setTimeout(r, 300));
  t.match(infra.link.status(), { state: 'connected', reconnects: 0 }, 'the link never flapped');
  t.match(guard(infra)?.refused, { clientId: 2, credentials: 1, topic: 1 });
  t.match(JSON.parse((await retained(url, `${PREFIX}status`)) ?? '{}'), { online: true });
});

t.test('a packet over maxPacketBytes closes the connection; the board\'s own large publish does not', async (t) => {
  const { infra, url } = await board(t, { maxPacketBytes: 64 * 1024 });
  const c = await connected(url);
  t.equal(await tryPublish(c, `${PREFIX}event/big`, Buffer.alloc(1024 * 1024)), 'closed');
  t.equal(guard(infra)?.refused.packetTooLarge, 1);
  const ok = await connected(url);
  t.equal(await tryPublish(ok, `${PREFIX}event/small`, Buffer.alloc(60 * 1024)), 'acked');
  ok.end(true);
  const sub = await recordMessages(url, [`${PREFIX}out/#`], { protocolVersion: 4 });
  t.teardown(() => sub.close());
  await infra.link.link.publishJson('out/big', { blob: 'x'.repeat(200 * 1024) }, { qos: 1 });
  await waitFor(() => sub.messages.length === 1, 'the board\'s 200 KiB message');
  t.equal(infra.link.status()?.reconnects, 0);
});

t.test('the retained store is bounded; past it new topics are refused, the board\'s own still stored', async (t) => {
  const { infra, url } = await board(t, { retained: { maxMessages: 10, maxBytes: 1024 * 1024 }, publishRate: { perSecond: 0 } });
  const payload = Buffer.alloc(200 * 1024, 1);
  let stored = 0;
  let refused = 0;
  for (let i = 0; i < 40; i++) {
    const c = await connected(url);
    const r = await tryPublish(c, `${PREFIX}event/flood/${i}`, payload, true);
    if (r === 'acked') stored++;
    else refused++;
    c.end(true);
  }
  const g = guard(infra);
  t.ok(stored <= 5 && refused >= 35, `stored ${stored}, refused ${refused}`);
  t.ok((g?.retained.bytes ?? Infinity) <= 1024 * 1024, `retained bytes ${g?.retained.bytes}`);
  t.equal(g?.refused.retained, refused);
  const c = await connected(url);
  t.equal(await tryPublish(c, `${PREFIX}event/flood/0`, Buffer.alloc(0), true), 'acked', 'clearing a retained topic is fine');
  c.end(true);
  infra.link.link.publishJson('state/master', { big: 'y'.repeat(900 * 1024) }, { qos: 1, retain: true });
  await waitFor(() => (guard(infra)?.retained.bytes ?? 0) > 1024 * 1024, 'the board\'s own state stored past the bound');
  t.equal(infra.link.status()?.reconnects, 0);
});

t.test('a client over publishRate is disconnected and counted', async (t) => {
  const { infra, url } = await board(t, { publishRate: { perSecond: 5, burst: 20 } });
  const c = await connected(url);
  let outcome: 'acked' | 'closed' = 'acked';
  let sent = 0;
  while (outcome === 'acked' && sent < 200) {
    outcome = await tryPublish(c, `${PREFIX}event/spam`, '{}');
    sent++;
  }
  t.equal(outcome, 'closed');
  t.ok(sent >= 20 && sent < 40, `closed after ${sent} publications`);
  t.equal(guard(infra)?.refused.rate, 1);
  c.end(true);
});

t.test('maxConnections: local clients past it refused (CONNACK 3); idle sockets cannot keep the link out', async (t) => {
  const { infra, url } = await board(t, { maxConnections: 3 });
  const ok = await Promise.all([1, 2, 3].map(() => connected(url)));
  t.match(await attacker(url), { code: 3 }, 'server unavailable');
  for (const c of ok) c.end(true);
  await waitFor(() => infra.broker?.status().clients === 1, 'only the link left');
  const port = Number(new URL(url).port);
  const idle = await Promise.all(Array.from({ length: 20 }, () => new Promise<net.Socket>((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', () => undefined);
  })));
  t.teardown(() => idle.forEach((s) => s.destroy()));
  await waitFor(() => idle.filter((s) => s.destroyed || s.readyState === 'closed').length >= 17, 'the oldest idle sockets closed');
  const late = await connected(url);
  t.pass('a client connects while idle sockets were opened');
  late.end(true);
  t.ok((guard(infra)?.refused.connections ?? 0) >= 17);
  t.equal(infra.link.status()?.reconnects, 0);
});

t.test('allowPublish opens topics outside the prefix, never the board\'s own', async (t) => {
  const { url } = await board(t, { allowPublish: ['lab/+/temp', '#'] });
  const c = await connected(url);
  t.equal(await tryPublish(c, 'lab/1/temp', '21'), 'acked');
  t.equal(await tryPublish(c, `${PREFIX}status`, '{}', true), 'closed', '"#" does not open the prefix');
  c.end(true);
  t.throws(() => parseMqttConfig({ embeddedBroker: { allowPublish: ['a/#/b'] } }), { message: /allowPublish[\s\S]*must be a whole level/ }, 'a bad filter names its field');
});

t.test('fleet deployment topics (README "Deploying updates"): the board\'s own never, a group\'s only through allowPublish', async (t) => {
  const closed = await board(t);
  const a = await connected(closed.url);
  t.equal(await tryPublish(a, 'openstarry/groups/gh/deploy', '{}', true), 'closed', 'a group document is refused by default');
  a.end(true);
  const open = await board(t, { allowPublish: ['openstarry/groups/+/deploy', '#'] });
  const b = await connected(open.url);
  t.equal(await tryPublish(b, 'openstarry/groups/gh/deploy', '{}', true), 'acked', 'allowPublish opens the group topic');
  t.equal(await tryPublish(b, `${PREFIX}deploy`, '{}', true), 'closed', "the board's own deploy topic stays the daemon's");
  b.end(true);
});

t.test('usersFile with the hashes mosquitto_passwd writes: the right password connects, a wrong one gets CONNACK 4', async (t) => {
  if (!requireTool(t, 'mosquitto_passwd', 'mosquitto')) return;
  const dir = await mkdtemp(path.join(tmpdir(), 'os-broker-hashed-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const usersFile = path.join(dir, 'users');
  execFileSync('mosquitto_passwd', ['-c', '-b', usersFile, 'sensor-bridge', 's3cret:with:colons']);
  execFileSync('mosquitto_passwd', ['-H', 'sha512', '-b', usersFile, 'legacy', 'hunter2']);
  const { infra, url } = await board(t, { usersFile });
  const c = await connected(url, { username: 'sensor-bridge', password: 's3cret:with:colons' });
  t.equal(await tryPublish(c, `${PREFIX}event/x`, '{}'), 'acked');
  c.end(true);
  const legacy = await connected(url, { username: 'legacy', password: 'hunter2' });
  legacy.end(true);
  t.match(await attacker(url, { username: 'sensor-bridge', password: 's3cret' }), { code: 4 });
  t.match(await attacker(url, { username: 'ghost', password: 's3cret:with:colons' }), { code: 4 });
  t.equal(guard(infra)?.refused.credentials, 2);
});

t.test('usersFile: local clients must log in; a bad file names its line; passwords never logged', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'os-broker-users-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const usersFile = path.join(dir, 'users');
  await writeFile(usersFile, '# local programs\nsensor-bridge:s3cret:with:colons\n\nops:hunter2\n', { mode: 0o600 });
  const lines: string[] = [];
  const { infra, url } = await board(t, { usersFile }, createLogger('test', { write: (l) => void lines.push(l) }));
  t.match(await attacker(url), { code: 4 }, 'anonymous refused');
  t.match(await attacker(url, { username: 'ops', password: 'badpass1' }), { code: 4 });
  const c = await connected(url, { username: 'sensor-bridge', password: 's3cret:with:colons' });
  t.equal(await tryPublish(c, `${PREFIX}event/x`, '{}'), 'acked');
  c.end(true);
  t.equal(guard(infra)?.refused.credentials, 2);
  t.notMatch(lines.join(''), /hunter2|s3cret|badpass1/);
  t.match(lines.join(''), /embedded broker refused \(credentials\)/);
  t.notMatch(lines.join(''), /holds the local users' passwords/, 'a 0600 file is not warned about');
  await chmod(usersFile, 0o644);
  const shared: string[] = [];
  const open = createMqttInfrastructure({ config: parseMqttConfig({ embeddedBroker: { port: 0, usersFile } }), deviceId: 'b', version: '0', home: dir, log: createLogger('test', { write: (l) => void shared.push(l) }) });
  await open.broker?.start();
  await open.broker?.stop();
  t.match(shared.join(''), /usersFile .* may be read or written by others \(mode 0644\): it holds the local users' passwords; make it 0600/, 'a file others can read starts, with a warning');
  // The daemon's own group may read it (0640 root:openstarry on a board); the test process's group stands for it.
  await chmod(usersFile, 0o640);
  const grouped: string[] = [];
  const own = createMqttInfrastructure({ config: parseMqttConfig({ embeddedBroker: { port: 0, usersFile } }), deviceId: 'b', version: '0', home: dir, log: createLogger('test', { write: (l) => void grouped.push(l) }) });
  await own.broker?.start();
  await own.broker?.stop();
  t.notMatch(grouped.join(''), /holds the local users' passwords/, "0640 with the daemon's own group: no warning");
  for (const [text, why] of [['nocolon\n', /line 1: must be username:password/], ['a:1\nopenstarryd:x\n', /line 2: the username "openstarryd" is reserved/], ['a:\n', /line 1: the password is empty/]] as const) {
    await writeFile(usersFile, text);
    const config = parseMqttConfig({ embeddedBroker: { port: 0, usersFile } });
    const bad = createMqttInfrastructure({ config, deviceId: 'b', version: '0', home: dir, log: quiet });
    await t.rejects(bad.broker?.start() ?? Promise.resolve(), { code: 'ERR_LINK_CONFIG', message: why });
    await bad.broker?.stop();
  }
});

t.test('aclFile (mosquitto acl_file lines): each user reads and writes only what it grants, retained messages included', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'os-broker-acl-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const usersFile = path.join(dir, 'users');
  await writeFile(usersFile, 'ops:opspass\nviewer:viewpass\nbridge:bridgepass\n', { mode: 0o600 });
  const aclFile = path.join(dir, 'acl');
  await writeFile(aclFile, [
    'user ops',
    'topic readwrite openstarry/#',
    'user viewer',
    `topic read ${PREFIX}status`,
    `topic read ${PREFIX}out/#`,
    `topic deny ${PREFIX}out/private`,
    `pattern write ${PREFIX}event/%u/#`,
  ].join('\n'));
  const { infra, url } = await board(t, { usersFile, aclFile });
  await infra.link.link.publishJson('state/master', { agent: 'master' }, { qos: 1, retain: true });
  await waitFor(() => guard(infra)?.retained.messages === 2, "the board's status and state retained");

  // Subscribing to everything is allowed (mosquitto checks deliveries, not subscriptions).
  const viewer = await recordMessages(url, ['#'], { protocolVersion: 4, username: 'viewer', password: 'viewpass' });
  const ops = await recordMessages(url, ['#'], { protocolVersion: 4, username: 'ops', password: 'opspass' });
  t.teardown(async () => {
    await viewer.close();
    await ops.close();
  });
  // The last one, out/end, both may read: once it has arrived, whatever was published before it has been decided
  // (one publisher, delivered in order), so what is missing was withheld, not late.
  for (const topic of ['out/public', 'out/private', 'state/x', 'out/end']) await infra.link.link.publishJson(topic, { topic }, { qos: 1 });
  const arrived = (r: typeof ops) => r.messages.some((m) => m.topic === `${PREFIX}out/end`);
  await waitFor(() => arrived(ops) && arrived(viewer), 'out/end at both');
  t.same(viewer.messages.map((m) => m.topic).sort(), [`${PREFIX}out/end`, `${PREFIX}out/public`, `${PREFIX}status`], 'viewer: the retained status, out/public and out/end only');
  t.ok(viewer.messages.find((m) => m.topic === `${PREFIX}status`)?.retain, 'the status came as the retained message');
  t.same(ops.messages.map((m) => m.topic).sort(), [`${PREFIX}out/end`, `${PREFIX}out/private`, `${PREFIX}out/public`, `${PREFIX}state/master`, `${PREFIX}state/x`, `${PREFIX}status`]);
  t.equal(guard(infra)?.refused.read, 3, 'three messages not delivered to viewer (retained state/master, out/private, state/x), counted');

  // Writing: the ACL narrows the board's own publish policy, never widens it.
  const v = await connected(url, { username: 'viewer', password: 'viewpass' });
  t.equal(await tryPublish(v, `${PREFIX}event/x`, '{}'), 'closed', 'viewer may not write even where the board takes events');
  v.end(true);
  const bridge = await connected(url, { username: 'bridge', password: 'bridgepass' });
  t.equal(await tryPublish(bridge, `${PREFIX}event/bridge/temp`, '{}'), 'acked', 'a pattern with %u');
  t.equal(await tryPublish(bridge, `${PREFIX}event/other`, '{}'), 'closed', "not another user's level");
  bridge.end(true);
  const o = await connected(url, { username: 'ops', password: 'opspass' });
  t.equal(await tryPublish(o, `${PREFIX}cmd/status`, '{}'), 'acked');
  t.equal(await tryPublish(o, `${PREFIX}status`, '{"online":false}', true), 'closed', "openstarry/# in the ACL does not open the board's status");
  o.end(true);
  t.match(await attacker(url, { username: 'viewer', password: 'viewpass', will: { topic: `${PREFIX}event/gone`, payload: Buffer.from('{}'), qos: 0, retain: false } }), { code: 5 }, 'a will where the ACL forbids writing refuses the CONNECT');
  // viewer's `#` also met ops's cmd/status and bridge's event: withheld from it as well.
  t.match(guard(infra)?.refused, { topic: 4, read: 5 });
  t.match(infra.link.status(), { state: 'connected', reconnects: 0 }, "the daemon's own link is not subject to the ACL");
});

t.test('aclFile: a bad line fails the start with the file, line and reason; without usersFile a warning says only anonymous entries apply', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'os-broker-acl-bad-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const aclFile = path.join(dir, 'acl');
  await writeFile(aclFile, 'topic read a/#\nuser ops\ntopic rw b\n');
  const bad = createMqttInfrastructure({ config: parseMqttConfig({ embeddedBroker: { port: 0, aclFile } }), deviceId: 'b', version: '0', home: dir, log: quiet });
  await t.rejects(bad.broker?.start() ?? Promise.resolve(), { code: 'ERR_LINK_CONFIG', message: `mqtt.embeddedBroker.aclFile: ${aclFile} line 3: the access must be read, write, readwrite or deny, not "rw"` });
  await bad.broker?.stop();
  const missing = createMqttInfrastructure({ config: parseMqttConfig({ embeddedBroker: { port: 0, aclFile: path.join(dir, 'none') } }), deviceId: 'b', version: '0', home: dir, log: quiet });
  await t.rejects(missing.broker?.start() ?? Promise.resolve(), { code: 'ERR_LINK_CONFIG', message: /aclFile: cannot read .*none: ENOENT/ });
  await missing.broker?.stop();
  await writeFile(aclFile, `topic read ${PREFIX}status\ntopic read ${PREFIX}out/end\nuser ops\ntopic read #\n`);
  const lines: string[] = [];
  const { infra, url } = await board(t, { aclFile }, createLogger('test', { write: (l) => void lines.push(l) }));
  t.match(lines.join(''), /aclFile without usersFile: no username is proven, so every local client is anonymous/);
  const anon = await recordMessages(url, ['#'], { protocolVersion: 4 });
  // Without usersFile nothing proves a username: claiming `ops` must not bring ops's grants.
  const claimed = await recordMessages(url, ['#'], { protocolVersion: 4, username: 'ops', password: 'anything' });
  t.teardown(async () => {
    await anon.close();
    await claimed.close();
  });
  await infra.link.link.publishJson('out/x', {}, { qos: 1 });
  await infra.link.link.publishJson('out/end', {}, { qos: 1 });
  const ended = (r: typeof anon) => r.messages.some((m) => m.topic === `${PREFIX}out/end`);
  await waitFor(() => ended(anon) && ended(claimed), 'out/end at both');
  t.same(anon.messages.map((m) => m.topic), [`${PREFIX}status`, `${PREFIX}out/end`], 'the retained status and out/end; out/x withheld');
  t.same(claimed.messages.map((m) => m.topic), [`${PREFIX}status`, `${PREFIX}out/end`], "a claimed username gets the anonymous clients' grants, not that user's");
  t.equal(guard(infra)?.refused.read, 2);
  const will = await attacker(url, { username: 'ops', password: 'x', will: { topic: `${PREFIX}event/x`, payload: Buffer.from('{}'), qos: 0, retain: false } });
  t.match(will, { code: 5 }, "nor its will: the anonymous clients' entries grant no write");
});

t.test('aclFile: a persistent session gets only the queued messages it may read when it comes back', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'os-broker-acl-session-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const aclFile = path.join(dir, 'acl');
  await writeFile(aclFile, `topic read ${PREFIX}out/#\ntopic deny ${PREFIX}out/private\n`);
  const { infra, url } = await board(t, { aclFile });
  const session = { protocolVersion: 4 as const, clientId: 'away-for-a-while', clean: false };
  const first = await recordMessages(url, [`${PREFIX}out/#`], session);
  await first.close();
  for (const topic of ['out/private', 'out/public']) await infra.link.link.publishJson(topic, { topic }, { qos: 1 });
  const back = await recordMessages(url, [], session);
  t.teardown(() => back.close());
  // Queued in order: once out/public (published last) is in, out/private has been decided.
  await waitFor(() => back.messages.length === 1, 'the queued out/public');
  t.same(back.messages.map((m) => m.topic), [`${PREFIX}out/public`]);
  t.equal(guard(infra)?.refused.read, 1, 'out/private withheld from the queue');
});
