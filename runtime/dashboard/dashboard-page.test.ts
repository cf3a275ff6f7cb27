// The page's server side on a real loopback socket: the token rule (403 read-only, 401 without or with a wrong token,
// a non-loopback listen refused without one), body cap (413) and validation (400), the CSP header, the assets, and
// the SSE stream's first snapshot, client bound (503) and the drop of a client that does not read.
import http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { systemClock } from '../clock.ts';
import { ErrorCode, OpenStarryError } from '../core/errors.ts';
import type { IAgentStatus } from '../supervisor/agent-status.ts';
import { createDashboardServer } from './dashboard-server.ts';
import type { DashboardDaemon } from './dashboard-feed.ts';
import { SseHub } from './dashboard-stream.ts';

const TOKEN = 'x'.repeat(20) + '-token-for-tests';

function request(port: number, p: string, o: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: p, method: o.method ?? 'GET', headers: o.headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

function agent(pid: string, agentId: string): IAgentStatus {
  return { pid, agentId, template: agentId, isolation: 'worker', state: 'running', startedAt: new Date(0).toISOString(), restarts: 0, cpuPercent: 0, memoryBytes: 0, tokensUsed: 0 };
}

function fakeDaemon() {
  const agents = [agent('p1', 'master')];
  const controls: unknown[] = [];
  const daemon: DashboardDaemon = {
    status: () => ({ version: '0.1.0', state: 'ready', degraded: [], link: { state: 'connected' } }),
    agents: () => agents,
    devices: () => [{ id: 'env0', kind: 'sensor', driver: 'bme280', origin: 'board', state: 'ok', value: { temperature: 21 } }],
    templates: () => ['master', 'hello-sensor'],
    spawn: async (template) => {
      if (template === 'nope') throw new OpenStarryError(ErrorCode.TEMPLATE_NOT_FOUND, `no template "${template}"`);
      const a = agent(`p${agents.length + 1}`, template);
      agents.push(a);
      return a;
    },
    kill: async (pid) => ({ ...agents.find((a) => a.pid === pid)!, state: 'exited' }),
    control: async (id, command) => {
      if (id === 'fan') throw new OpenStarryError(ErrorCode.DEVICE_BUSY, 'actuator "fan" is owned by agent x');
      controls.push([id, command]);
    },
    samples: () => ({ history: () => ({ env0: { temperature: { at: [1, 2], values: [20, 21] } } }), onSample: () => () => undefined, stats: () => ({ samples: 2 }) }),
  };
  return { daemon, controls, agents };
}

async function start(t: Test, o: { token?: boolean; tokenMissing?: boolean; listen?: string; maxClients?: number } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'os-dash-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'index.html'), '<!doctype html><script src="app.js"></script>');
  writeFileSync(path.join(dir, 'app.js'), 'console.log(1)');
  const tokenFile = path.join(dir, 'token');
  if (!o.tokenMissing) writeFileSync(tokenFile, `${TOKEN}\n`);
  const fake = fakeDaemon();
  const server = createDashboardServer({
    listen: o.listen ?? '127.0.0.1:0',
    sources: { state: () => ({}), agents: () => fake.agents, telemetry: () => ({}), rules: () => ({ perRule: [] }) },
    daemon: fake.daemon,
    assetsDir: dir,
    clock: systemClock,
    ...(o.token === false ? {} : { tokenFile }),
    ...(o.maxClients ? { stream: { maxClients: o.maxClients } } : {}),
  });
  t.teardown(() => server.stop());
  await server.start();
  return { ...fake, server, tokenFile, port: server.address()!.port };
}

const json = { 'content-type': 'application/json' };
const auth = { authorization: `Bearer ${TOKEN}` };

t.test('actions need the bearer token: 401 without or wrong, 201/200 with it; 403 when read-only', async (t) => {
  const { port, controls, server } = await start(t);
  let r = await request(port, '/api/agents', { method: 'POST', headers: json, body: '{"template":"hello-sensor"}' });
  t.equal(r.status, 401);
  t.equal(r.headers['www-authenticate'], 'Bearer realm="openstarry"');
  r = await request(port, '/api/agents', { method: 'POST', headers: { ...json, authorization: 'Bearer wrong-token-wrong-token' }, body: '{"template":"hello-sensor"}' });
  t.equal(r.status, 401);
  r = await request(port, '/api/agents', { method: 'POST', headers: { ...json, ...auth }, body: '{"template":"hello-sensor"}' });
  t.equal(r.status, 201);
  t.match(JSON.parse(r.body), { agentId: 'hello-sensor', pid: 'p2' });
  r = await request(port, '/api/agents/p2', { method: 'DELETE', headers: auth });
  t.equal(r.status, 200);
  r = await request(port, '/api/agents/p2/kill', { method: 'POST', headers: auth });
  t.equal(r.status, 200);
  r = await request(port, '/api/devices/relay0/control', { method: 'POST', headers: { ...json, ...auth }, body: '{"command":"on"}' });
  t.equal(r.status, 200);
  t.same(controls, [['relay0', 'on']]);
  r = await request(port, '/api/devices/fan/control', { method: 'POST', headers: { ...json, ...auth }, body: '{"command":"on"}' });
  t.equal(r.status, 409, "the HAL's refusal keeps its registry status");
  t.match(JSON.parse(r.body), { code: 'ERR_DEVICE_BUSY', error: /owned by agent/ });
  r = await request(port, '/api/agents', { method: 'POST', headers: { ...json, ...auth }, body: '{"template":"nope"}' });
  t.equal(r.status, 404);
  r = await request(port, '/api/agents/%E0%A4%A', { method: 'DELETE', headers: auth });
  t.equal(r.status, 400, 'a malformed path is a 400, not a dropped connection');
  r = await request(port, '/api/agents', { method: 'PUT', headers: auth });
  t.equal(r.status, 405);
  t.match(server.stats(), { readOnly: false, actions: { applied: 4, refused: 2, unauthorized: 2 } });

  const ro = await start(t, { token: false });
  r = await request(ro.port, '/api/agents', { method: 'POST', headers: { ...json, ...auth }, body: '{"template":"hello-sensor"}' });
  t.equal(r.status, 403, 'no token configured: read-only');
  t.match(JSON.parse(r.body), { error: /read-only/ });
  t.match(ro.server.stats(), { readOnly: true });
});

t.test('reloadToken (openstarry reload): a rotated token works at once and the old one is refused; a file without a token keeps the current one', async (t) => {
  const { port, server, tokenFile } = await start(t);
  const spawn = (token: string) => request(port, '/api/agents', { method: 'POST', headers: { ...json, authorization: `Bearer ${token}` }, body: '{"template":"hello-sensor"}' });
  t.equal(await server.reloadToken(), 'unchanged', 'the same file: nothing changes');
  const NEXT = 'rotated-token-0123456789abcdef';
  writeFileSync(tokenFile, `${NEXT}\n`);
  t.equal(await server.reloadToken(), 'rotated');
  t.equal((await spawn(TOKEN)).status, 401, 'the old token no longer works');
  t.equal((await spawn(NEXT)).status, 201, 'the new one does, without a restart');
  writeFileSync(tokenFile, 'short\n');
  await t.rejects(server.reloadToken(), { message: /dashboard.tokenFile .*token: the token is 5 characters, at least 16/ });
  t.equal((await spawn(NEXT)).status, 201, 'a file being rewritten does not open or lock the dashboard: the current token stays');
  rmSync(tokenFile);
  await t.rejects(server.reloadToken(), { message: /cannot be read/ });
  t.equal((await spawn(NEXT)).status, 201);
  // A request whose body is still arriving when the token rotates is refused: the token is checked again before acting.
  const slow = http.request({ host: '127.0.0.1', port, path: '/api/agents', method: 'POST', headers: { ...json, authorization: `Bearer ${NEXT}` } });
  const answered = new Promise<number>((resolve, reject) => slow.once('response', (r) => { r.resume(); resolve(r.statusCode ?? 0); }).once('error', reject));
  slow.write('{"template":');
  await new Promise((r) => setImmediate(r));
  writeFileSync(tokenFile, `${TOKEN}\n`);
  t.equal(await server.reloadToken(), 'rotated');
  slow.end('"hello-sensor"}');
  t.equal(await answered, 401, 'the body finished after the rotation: refused');
  const ro = await start(t, { token: false });
  t.equal(await ro.server.reloadToken(), 'none', 'no tokenFile configured');
});

t.test('a loopback dashboard that started read-only (its token file unreadable) gets its actions at the first reload that reads one', async (t) => {
  const { port, server, tokenFile } = await start(t, { tokenMissing: true });
  t.match(server.stats(), { readOnly: true });
  const before = await openStream(port);
  t.match(JSON.parse(/data: (.*)\n/.exec(before.first)![1]!), { canAct: false, templates: [] });
  before.req.destroy();
  writeFileSync(tokenFile, `${TOKEN}\n`);
  t.equal(await server.reloadToken(), 'rotated');
  t.match(server.stats(), { readOnly: false });
  const after = await openStream(port);
  t.match(JSON.parse(/data: (.*)\n/.exec(after.first)![1]!), { canAct: true, templates: ['master', 'hello-sensor'] }, 'the page gets its buttons');
  after.req.destroy();
  const r = await request(port, '/api/agents', { method: 'POST', headers: { ...json, ...auth }, body: '{"template":"hello-sensor"}' });
  t.equal(r.status, 201);
});

t.test('bodies: 413 over the cap, 400 not JSON or not the schema, 415 not JSON typed', async (t) => {
  const { port } = await start(t);
  const post = (body: string, headers: Record<string, string> = json) => request(port, '/api/agents', { method: 'POST', headers: { ...headers, ...auth }, body });
  let r = await post(JSON.stringify({ template: 'x'.repeat(10_000) }));
  t.equal(r.status, 413);
  r = await post('{"template":');
  t.equal(r.status, 400);
  t.match(JSON.parse(r.body), { error: /not JSON/ });
  r = await post('{"template":"a","extra":1}');
  t.equal(r.status, 400);
  r = await post('{"template":""}');
  t.equal(r.status, 400);
  t.match(JSON.parse(r.body), { error: /^body: template: / });
  r = await request(port, '/api/devices/relay0/control', { method: 'POST', headers: { ...json, ...auth }, body: '{"command":{"x":1}}' });
  t.equal(r.status, 400);
  r = await post('template=a', { 'content-type': 'application/x-www-form-urlencoded' });
  t.equal(r.status, 415, 'a form post (what a cross-site page can send without CORS) is refused');
});

t.test('the page and its assets carry the CSP; nothing outside the build folder is served', async (t) => {
  const { port } = await start(t);
  let r = await request(port, '/');
  t.equal(r.status, 200);
  t.match(r.headers['content-type'], /text\/html/);
  t.match(r.headers['content-security-policy'], /default-src 'self'/);
  t.notMatch(r.headers['content-security-policy'], /unsafe-inline/);
  r = await request(port, '/app.js');
  t.match(r.headers['content-type'], /javascript/);
  r = await request(port, '/api/state');
  t.match(r.headers['content-security-policy'], /default-src 'self'/, 'JSON too');
  for (const p of ['/../package.json', '/%2e%2e/package.json', '/token', '/missing.js']) t.equal((await request(port, p)).status, 404, p);
});

t.test('a non-loopback listen refuses to start without a token', async (t) => {
  const server = createDashboardServer({ listen: '0.0.0.0:0', sources: { state: () => ({}), agents: () => [], telemetry: () => ({}), rules: () => ({}) } });
  await t.rejects(server.start(), { code: 'ERR_INFRA_FAILED', message: /not a loopback address.*dashboard\.tokenFile/ });
  await server.stop();
  const bad = createDashboardServer({ listen: '0.0.0.0:0', tokenFile: '/nonexistent/token', sources: { state: () => ({}), agents: () => [], telemetry: () => ({}), rules: () => ({}) } });
  await t.rejects(bad.start(), { code: 'ERR_INFRA_FAILED', message: /\/nonexistent\/token: cannot be read/ });
  const { server: withToken } = await start(t, { listen: '0.0.0.0:0' });
  t.match(withToken.stats()?.url, /^http:\/\/.+:\d+\/$/, 'with a token it starts');
});

/** Opens /api/stream and resolves with the response and the first event once it arrived. */
function openStream(port: number): Promise<{ res: http.IncomingMessage; req: http.ClientRequest; first: string; status: number }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/api/stream', agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      const onData = (c: string) => {
        text += c;
        if (res.statusCode !== 200 || /event: snapshot\ndata: .*\n\n/.test(text)) {
          res.off('data', onData);
          resolve({ res, req, first: text, status: res.statusCode ?? 0 });
        }
      };
      res.on('data', onData);
      res.on('end', () => resolve({ res, req, first: text, status: res.statusCode ?? 0 }));
    });
    req.on('error', reject);
  });
}

t.test('the stream: retry and a first snapshot with history; at most maxClients (503 beyond)', async (t) => {
  const { port, server } = await start(t, { maxClients: 2 });
  const a = await openStream(port);
  t.equal(a.status, 200);
  t.match(a.res.headers['content-type'], /text\/event-stream/);
  t.match(a.first, /^retry: \d+\n\n/);
  const snapshot = JSON.parse(/data: (.*)\n/.exec(a.first)![1]!) as Record<string, unknown>;
  t.match(snapshot, { canAct: true, agents: [{ agentId: 'master' }], devices: [{ id: 'env0' }], templates: ['master', 'hello-sensor'], history: { env0: { temperature: { values: [20, 21] } } } });
  const b = await openStream(port);
  const c = await openStream(port);
  t.equal(c.status, 503, 'the third is refused');
  t.match(server.stats()?.stream, { clients: 2, maxClients: 2, accepted: 2, refused: 1 });
  a.req.destroy();
  b.req.destroy();
});

t.test('a client that stops reading is dropped, not buffered without bound', async (t) => {
  const hub = new SseHub({ clock: systemClock, maxBufferedBytes: 64 * 1024 });
  const server = http.createServer((req, res) => hub.accept(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    hub.close();
    server.closeAllConnections();
    server.close();
  });
  const res = await new Promise<http.IncomingMessage>((resolve) => http.get({ host: '127.0.0.1', port: (server.address() as { port: number }).port, path: '/', agent: false }, resolve));
  res.pause(); // reads nothing from here on
  const big = 'x'.repeat(64 * 1024);
  for (let i = 0; i < 2000 && hub.stats().dropped === 0; i += 1) {
    hub.broadcast('sample', big);
    await new Promise((r) => setImmediate(r));
  }
  t.match(hub.stats(), { dropped: 1, clients: 0 });
  res.destroy();
});
