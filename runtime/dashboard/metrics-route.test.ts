// GET /metrics on the dashboard's real HTTP server: the Prometheus content type, HEAD, 503 while booting, 404 without
// a metrics source; the bearer rule beyond loopback (by option on a loopback socket, and on a real non-loopback
// address when the machine has one), and bearerOk / isLoopbackHost themselves.
import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { createDashboardServer } from './dashboard-server.ts';
import { bearerOk, createMetricsRoute, isLoopbackHost } from './metrics-route.ts';
import type { MetricsSnapshot } from './metrics-snapshot.ts';

const snapshot: MetricsSnapshot = {
  build: { version: '0.1.0', node: process.version, board: 'sim', deviceId: 'pi-1' },
  phases: [],
  agents: [{ agent: 'master', template: 'master', isolation: 'worker', state: 'running', cpuPercent: 1, memoryBytes: 1, tokensUsed: 0, restarts: 0, quarantined: false }],
  hal: [],
  devices: [],
};
const sources = { state: () => ({}), agents: () => [], telemetry: () => ({}), rules: () => ({}) };

/** fetch() (Node's own client) with the answer read whole; headers as a plain object. */
async function get(host: string, port: number, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const res = await fetch(`http://${host}:${port}${path}`, { method, headers });
  return { status: res.status, headers: Object.fromEntries(res.headers), body: await res.text() };
}

t.test('bearerOk: exactly `Bearer <token>`, never without a configured token', async (t) => {
  const req = (authorization?: string) => ({ headers: authorization === undefined ? {} : { authorization } });
  t.ok(bearerOk(req('Bearer s3cret-token'), 's3cret-token'));
  t.ok(bearerOk(req('bearer s3cret-token'), 's3cret-token'), 'the scheme is case-insensitive (RFC 9110 §11.1)');
  t.notOk(bearerOk(req('Bearer s3cret-tokeX'), 's3cret-token'), 'same length, one byte off');
  t.notOk(bearerOk(req('Bearer s3cret'), 's3cret-token'), 'a prefix');
  t.notOk(bearerOk(req('Basic s3cret-token'), 's3cret-token'));
  t.notOk(bearerOk(req(), 's3cret-token'));
  t.notOk(bearerOk(req(`Bearer ${'a'.repeat(2000)}`), 'a'.repeat(2000)), 'an oversized header is refused unread');
  t.notOk(bearerOk(req('Bearer '), ''), 'no token configured: never');
  t.notOk(bearerOk(req('Bearer x'), undefined));
});

t.test('isLoopbackHost', async (t) => {
  for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '::ffff:127.0.0.1']) t.ok(isLoopbackHost(h), h);
  for (const h of ['0.0.0.0', '::', '192.168.1.10', 'pi.local', '10.0.0.127']) t.notOk(isLoopbackHost(h), h);
});

t.test('GET /metrics on a loopback dashboard: the exposition format, open to local programs', async (t) => {
  const booted: { snapshot?: MetricsSnapshot } = {};
  const server = createDashboardServer({ listen: '127.0.0.1:0', sources, metrics: () => booted.snapshot });
  t.teardown(() => server.stop());
  await server.start();
  const port = server.address()?.port ?? 0;
  let r = await get('127.0.0.1', port, '/metrics');
  t.equal(r.status, 503, 'nothing to show while booting');
  booted.snapshot = snapshot;
  r = await get('127.0.0.1', port, '/metrics?x=1');
  t.equal(r.status, 200);
  t.equal(r.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  t.equal(r.headers['cache-control'], 'no-store');
  t.match(r.body, /^openstarry_agent_state\{agent="master",template="master",isolation="worker",state="running"\} 1$/m);
  t.equal(Number(r.headers['content-length']), Buffer.byteLength(r.body));
  const h = await get('127.0.0.1', port, '/metrics', {}, 'HEAD');
  t.equal(h.status, 200);
  t.equal(h.body, '', 'HEAD: headers only');
  t.equal((await get('127.0.0.1', port, '/metrics', {}, 'POST')).status, 405);

  const plain = createDashboardServer({ listen: '127.0.0.1:0', sources });
  t.teardown(() => plain.stop());
  await plain.start();
  r = await get('127.0.0.1', plain.address()?.port ?? 0, '/metrics');
  t.equal(r.status, 404, 'no metrics source: no route');
});

t.test('beyond loopback (by option): 401 without the bearer token, 200 with it', async (t) => {
  const route = createMetricsRoute({ source: () => snapshot, loopback: false, token: () => 'tok-123' });
  const noToken = createMetricsRoute({ source: () => snapshot, loopback: false });
  const server = http.createServer((req, res) => void (req.url === '/none' ? noToken : route).serve(req, res, false));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const port = (server.address() as AddressInfo).port;
  let r = await get('127.0.0.1', port, '/metrics');
  t.equal(r.status, 401);
  t.equal(r.headers['www-authenticate'], 'Bearer realm="openstarry"');
  t.notMatch(r.body, /openstarry_/, 'nothing leaks');
  t.equal((await get('127.0.0.1', port, '/metrics', { authorization: 'Bearer tok-124' })).status, 401);
  r = await get('127.0.0.1', port, '/metrics', { authorization: 'Bearer tok-123' });
  t.equal(r.status, 200);
  t.match(r.body, /openstarry_build_info\{/);
  r = await get('127.0.0.1', port, '/none', { authorization: 'Bearer ' });
  t.equal(r.status, 401, 'no token configured beyond loopback: always 401');
  t.match(r.body, /no token configured \(dashboard\.tokenFile\)/);
});

t.test('beyond loopback (a real non-loopback address): the dashboard asks for the token', async (t) => {
  const addr = Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
  if (!addr) return t.pass('SKIP: this machine has no non-loopback IPv4 address', { skip: 'no non-loopback address' });
  const tokenFile = path.join(t.testdir(), 'dashboard-token');
  await writeFile(tokenFile, 'tok-xyz-0123456789abcdef\n');
  const server = createDashboardServer({ listen: `${addr}:0`, sources, metrics: () => snapshot, tokenFile });
  t.teardown(() => server.stop());
  await server.start();
  const port = server.address()?.port ?? 0;
  t.equal((await get(addr, port, '/metrics')).status, 401);
  const r = await get(addr, port, '/metrics', { authorization: 'Bearer tok-xyz-0123456789abcdef' });
  t.equal(r.status, 200);
  t.equal(r.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  // A reload that rotates the token (openstarry reload) reaches the scrape at once.
  await writeFile(tokenFile, 'tok-rotated-0123456789abcdef\n');
  t.equal(await server.reloadToken(), 'rotated');
  t.equal((await get(addr, port, '/metrics', { authorization: 'Bearer tok-xyz-0123456789abcdef' })).status, 401, 'the old token is refused');
  t.equal((await get(addr, port, '/metrics', { authorization: 'Bearer tok-rotated-0123456789abcdef' })).status, 200, 'the new one scrapes');
});
