// The MQTT link over TLS against a real mosquitto (docs/ARCHITECTURE.md "Testing against real parts"): certificates made here with openssl (a CA, a server
// certificate for 127.0.0.1/localhost and a client certificate signed by it, and an unrelated second CA); server
// verification with `mqtt.tls.ca`, mutual TLS with `mqtt.tls.cert`/`key` (and the link without a client
// certificate: offline, saying why, queueing), the wrong CA refused and `rejectUnauthorized: false` (lab only)
// accepting it, and a missing certificate file failing the start with the field that names it.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import type { Test } from 'tap';
import { startMosquitto } from '../../scripts/testing/mosquitto.ts';
import { recordMessages, waitFor } from '../../scripts/testing/mqtt-test-kit.ts';
import { requireTool } from '../../scripts/testing/system-deps.ts';
import { MqttLinkPlugin } from './link-plugin.ts';
import { makeLink } from './link.test-support.ts';
import { parseMqttConfig } from './mqtt-config.ts';

const run = promisify(execFile);

/** PEM file paths. */
interface Pki {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A CA that signed nothing the broker presents. */
  otherCa: string;
}

// P-256 keys, no passphrase, two days: the whole set takes well under a second.
const NEW_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
const DAYS = '2';

async function makePki(dir: string): Promise<Pki> {
  // Our own minimal openssl config: the system one may add extensions (or be missing).
  const cnf = path.join(dir, 'openssl.cnf');
  await writeFile(cnf, '[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = unused\n');
  const file = (name: string) => path.join(dir, name);
  const ca = async (name: string, cn: string): Promise<void> => {
    await run('openssl', ['req', '-x509', ...NEW_KEY, '-keyout', file(`${name}.key`), '-out', file(`${name}.crt`), '-days', DAYS, '-subj', `/CN=${cn}`, '-config', cnf, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  };
  const issue = async (name: string, cn: string, extensions: string[]): Promise<void> => {
    await run('openssl', ['req', '-new', ...NEW_KEY, '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`), '-subj', `/CN=${cn}`, '-config', cnf]);
    await writeFile(file(`${name}.ext`), `${['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature', ...extensions].join('\n')}\n`);
    await run('openssl', ['x509', '-req', '-in', file(`${name}.csr`), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-CAserial', file('ca.srl'), '-CAcreateserial', '-days', DAYS, '-extfile', file(`${name}.ext`), '-out', file(`${name}.crt`)]);
  };
  await ca('ca', 'openstarry test CA');
  await ca('other-ca', 'unrelated test CA');
  await issue('server', 'localhost', ['extendedKeyUsage=serverAuth', 'subjectAltName=IP:127.0.0.1,DNS:localhost']);
  await issue('client', 'dev1', ['extendedKeyUsage=clientAuth']);
  return { ca: file('ca.crt'), serverCert: file('server.crt'), serverKey: file('server.key'), clientCert: file('client.crt'), clientKey: file('client.key'), otherCa: file('other-ca.crt') };
}

// One set of certificates for the whole file, made by the first test that needs it.
const pkiDir = mkdtempSync(path.join(tmpdir(), 'os-link-tls-'));
t.teardown(() => rmSync(pkiDir, { recursive: true, force: true }));
let pkiMade: Promise<Pki> | undefined;
const pki = (): Promise<Pki> => (pkiMade ??= makePki(pkiDir));

function haveTools(t: Test): boolean {
  return requireTool(t, 'openssl', 'openssl') && requireTool(t, 'mosquitto', 'mosquitto');
}

async function scratch(t: Test): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'os-link-tls-q-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Independent mqtt.js client options over TLS, trusting our CA (and presenting the client certificate if asked). */
async function tlsClient(p: Pki, clientId: string, withCert = false): Promise<Record<string, unknown>> {
  return {
    clientId,
    ca: await readFile(p.ca),
    ...(withCert ? { cert: await readFile(p.clientCert), key: await readFile(p.clientKey) } : {}),
  };
}

t.test('mqtts:// with tls.ca: connects, retained birth over TLS, a QoS 1 publish arrives', async (t) => {
  if (!haveTools(t) || !requireTool(t, 'mosquitto_sub', 'mosquitto-clients')) return;
  const p = await pki();
  const broker = await startMosquitto({ dir: t.testdir(), tls: { cafile: p.ca, certfile: p.serverCert, keyfile: p.serverKey } });
  t.teardown(() => broker.kill());
  t.match(broker.url, /^mqtts:\/\/127\.0\.0\.1:\d+$/);

  const link = await makeLink(t, { url: broker.url, tls: { ca: p.ca } });
  await link.start();
  t.equal(link.state().state, 'connected', `connected (lastError: ${link.state().lastError})\n${broker.log()}`);

  // mosquitto_sub verifies the broker against the same CA (and 127.0.0.1 against the certificate's IP SAN).
  const { stdout } = await run('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(broker.port), '--cafile', p.ca, '-t', 'openstarry/dev1/status', '-C', '1', '-W', '5']);
  t.match(JSON.parse(stdout), { online: true, deviceId: 'dev1' }, 'the retained birth, read over TLS');

  const rec = await recordMessages(broker.url, ['openstarry/dev1/out/#'], await tlsClient(p, 'recorder-1'));
  t.teardown(() => rec.close());
  t.equal(link.publish('out/hello', 'over tls'), 'queued');
  await waitFor(() => rec.messages.some((m) => m.payload === 'over tls'), 'the QoS 1 message over TLS');
  await waitFor(() => link.state().queue.queued === 0, 'the PUBACK');
  t.equal(link.state().lastError, undefined, 'no error on the way');
});

t.test('mutual TLS: with the client certificate the link connects; without it, offline, saying why, queueing', async (t) => {
  if (!haveTools(t)) return;
  const p = await pki();
  const broker = await startMosquitto({ dir: t.testdir(), tls: { cafile: p.ca, certfile: p.serverCert, keyfile: p.serverKey, requireCertificate: true } });
  t.teardown(() => broker.kill());
  const rec = await recordMessages(broker.url, ['openstarry/+/status', 'openstarry/+/out/#'], await tlsClient(p, 'recorder-2', true));
  t.teardown(() => rec.close());

  const withCert = await makeLink(t, { url: broker.url, tls: { ca: p.ca, cert: p.clientCert, key: p.clientKey } });
  await withCert.start();
  t.equal(withCert.state().state, 'connected', `connected with the client certificate (lastError: ${withCert.state().lastError})\n${broker.log()}`);
  await waitFor(() => rec.messages.some((m) => m.topic === 'openstarry/dev1/status' && m.payload.includes('"online":true')), 'the birth');
  withCert.publish('out/x', 'mutual');
  await waitFor(() => rec.messages.some((m) => m.topic === 'openstarry/dev1/out/x' && m.payload === 'mutual'), 'the QoS 1 message');

  // Same CA, no client certificate: the broker ends the handshake.
  const queueDir = path.join(await scratch(t), 'queue');
  const noCert = await makeLink(t, { url: broker.url, tls: { ca: p.ca }, startWaitMs: 300 }, { deviceId: 'dev2', queueDir });
  await noCert.start();
  t.match(noCert.state().state, /^(connecting|offline)$/, 'start() returned without a connection');
  // TLS 1.3: the broker's "certificate required" alert (TLS 1.2 would say "handshake failure"), as OpenSSL's reason.
  await waitFor(() => /certificate required|handshake failure/i.test(noCert.state().lastError ?? ''), `a certificate error, got ${noCert.state().lastError}`);
  t.match(noCert.state().lastError, /^TLS: (tlsv13 alert certificate required|sslv3 alert handshake failure) \(ERR_SSL_/, 'readable, not the raw OpenSSL string');
  t.match(noCert.state().state, /^(connecting|offline)$/);
  t.equal(noCert.state().reconnects, 0);
  t.equal(noCert.publish('out/x', 'kept for later'), 'queued', 'QoS 1 is queued, not lost');
  t.equal(noCert.state().queue.queued, 1);
  t.equal(noCert.publish('out/x', 'qos0', { qos: 0 }), 'dropped');
  await noCert.close();
  t.notOk(rec.messages.some((m) => m.topic.startsWith('openstarry/dev2/')), 'nothing from the link without a certificate reached the broker');

  // The queue it left is drained by a link that has the certificate (same queue dir): nothing was lost.
  const fixed = await makeLink(t, { url: broker.url, tls: { ca: p.ca, cert: p.clientCert, key: p.clientKey } }, { deviceId: 'dev2', queueDir });
  await fixed.start();
  t.equal(fixed.state().state, 'connected');
  await waitFor(() => rec.messages.some((m) => m.topic === 'openstarry/dev2/out/x' && m.payload === 'kept for later'), 'the queued message');
  await waitFor(() => fixed.state().queue.queued === 0, 'the queue to empty');
  t.notOk(rec.messages.some((m) => m.payload === 'qos0'));
});

t.test('the wrong CA is refused; rejectUnauthorized: false (lab only) accepts any broker certificate', async (t) => {
  if (!haveTools(t)) return;
  const p = await pki();
  const broker = await startMosquitto({ dir: t.testdir(), tls: { cafile: p.ca, certfile: p.serverCert, keyfile: p.serverKey } });
  t.teardown(() => broker.kill());
  const rec = await recordMessages(broker.url, ['openstarry/+/status'], await tlsClient(p, 'recorder-3'));
  t.teardown(() => rec.close());

  const wrong = await makeLink(t, { url: broker.url, tls: { ca: p.otherCa }, startWaitMs: 300 });
  await wrong.start();
  t.match(wrong.state().state, /^(connecting|offline)$/);
  await waitFor(() => /unable to verify|self[- ]signed|certificate/i.test(wrong.state().lastError ?? ''), `a verification error, got ${wrong.state().lastError}`);
  // mosquitto sends its CA with the server certificate (OpenSSL builds the chain from cafile): an untrusted root.
  t.match(wrong.state().lastError, /self-signed certificate in certificate chain|unable to verify the first certificate|unable to get local issuer certificate/);
  t.equal(wrong.publish('out/x', 'held'), 'queued');
  t.notOk(rec.messages.some((m) => m.topic === 'openstarry/dev1/status'), 'no birth from the refused link');

  const lab = await makeLink(t, { url: broker.url, tls: { ca: p.otherCa, rejectUnauthorized: false } }, { deviceId: 'dev2' });
  await lab.start();
  t.equal(lab.state().state, 'connected', `rejectUnauthorized: false connects (lastError: ${lab.state().lastError})`);
  await waitFor(() => rec.messages.some((m) => m.topic === 'openstarry/dev2/status' && m.payload.includes('"online":true')), 'the birth of the lab link');
  t.match(wrong.state().state, /^(connecting|offline)$/, 'the verifying link is still refused');
});

t.test('a missing certificate file fails the start with ERR_LINK_CONFIG naming the field', async (t) => {
  // Only reads files: no broker or openssl needed; the PEM contents are never parsed before the files are all read.
  const dir = t.testdir({ 'ca.pem': 'CA', 'board.pem': 'CERT', 'board.key': 'KEY' });
  const home = await scratch(t);
  const ca = path.join(dir, 'ca.pem');
  const cert = path.join(dir, 'board.pem');
  const key = path.join(dir, 'board.key');
  const absent = path.join(dir, 'absent.pem');
  const cases: [field: string, tls: Record<string, string>][] = [
    ['mqtt.tls.cert', { ca, cert: absent, key }],
    ['mqtt.tls.key', { ca, cert, key: absent }],
    ['mqtt.tls.ca', { ca: absent, cert, key }],
  ];
  for (const [field, tls] of cases) {
    const plugin = new MqttLinkPlugin({ config: parseMqttConfig({ url: 'mqtts://127.0.0.1:8883', tls }), deviceId: 'dev1', version: '0.0.0-test', home });
    const err = await plugin.start().then(() => undefined, (e: unknown) => e as { code?: string; message: string });
    t.equal(err?.code, 'ERR_LINK_CONFIG', field);
    t.ok(err?.message.startsWith(`${field}: cannot read ${absent}: ENOENT`), `${field}: the message names the field and the file: ${err?.message}`);
    t.equal(plugin.status(), undefined, `${field}: no link was created, nothing connects`);
    await plugin.stop();
  }
  // makeLink goes through the same settings resolution.
  await t.rejects(makeLink(t, { url: 'mqtts://127.0.0.1:8883', tls: { cert: absent, key } }), { code: 'ERR_LINK_CONFIG', message: /^mqtt\.tls\.cert: cannot read .*absent\.pem: ENOENT/ });
});
