// The dashboard's JSON API on a real loopback socket (port 0): routes, 404/405/503/500 as JSON, HEAD, a port in use,
// and an idempotent stop that also ends kept-alive connections.
import http from 'node:http';
import t from 'tap';
import { createDashboardServer, deferredDashboardSources, parseListen } from './dashboard-server.ts';

function get(port: number, path: string, method = 'GET'): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

t.test('parseListen', async (t) => {
  t.same(parseListen('127.0.0.1:8080'), { host: '127.0.0.1', port: 8080 });
  t.same(parseListen('[::1]:80'), { host: '::1', port: 80 });
  t.same(parseListen('localhost:0'), { host: 'localhost', port: 0 });
  t.throws(() => parseListen('8080'), /not a listen address/);
  t.throws(() => parseListen('h:99999'), /not a listen address/);
});

t.test('routes serve JSON from the sources; others are JSON errors', async (t) => {
  let state: unknown = undefined;
  const server = createDashboardServer({
    listen: '127.0.0.1:0',
    sources: {
      state: () => state,
      agents: async () => [{ pid: '1', agentId: 'master' }],
      telemetry: () => ({ totals: { agents: 1 } }),
      rules: () => {
        throw new Error('orchestrator not running');
      },
    },
  });
  t.teardown(() => server.stop());
  await server.start();
  await server.start();
  const port = server.address()?.port ?? 0;
  t.ok(port > 0);

  let r = await get(port, '/api/state');
  t.equal(r.status, 503, 'nothing projected yet');
  t.match(JSON.parse(r.body), { error: /not available yet/ });
  state = { deviceId: 'pi', agents: {} };
  r = await get(port, '/api/state?x=1');
  t.equal(r.status, 200);
  t.same(JSON.parse(r.body), { deviceId: 'pi', agents: {} });
  t.match(r.headers, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  t.same(JSON.parse((await get(port, '/api/agents')).body), [{ pid: '1', agentId: 'master' }]);
  t.same(JSON.parse((await get(port, '/api/telemetry')).body), { totals: { agents: 1 } });
  r = await get(port, '/api/rules');
  t.equal(r.status, 500);
  t.same(JSON.parse(r.body), { error: 'orchestrator not running' });
  r = await get(port, '/nope');
  t.equal(r.status, 404);
  t.match(JSON.parse(r.body), { error: 'not found', paths: ['/api/state', '/api/agents', '/api/telemetry', '/api/rules'] });
  r = await get(port, '/api/__proto__');
  t.equal(r.status, 404, 'no prototype lookup in the routes');
  r = await get(port, '/api/state', 'POST');
  t.equal(r.status, 405);
  t.equal(r.headers.allow, 'GET, HEAD');
  r = await get(port, '/api/telemetry', 'HEAD');
  t.equal(r.status, 200);
  t.equal(r.body, '');
});

t.test('a port in use fails start with ERR_INFRA_FAILED; stop is idempotent and closes kept-alive sockets', async (t) => {
  const sources = { state: () => 1, agents: () => 2, telemetry: () => 3, rules: () => 4 };
  const a = createDashboardServer({ listen: '127.0.0.1:0', sources });
  await a.start();
  const port = a.address()?.port ?? 0;
  const b = createDashboardServer({ listen: `127.0.0.1:${port}`, sources });
  await t.rejects(b.start(), { code: 'ERR_INFRA_FAILED', message: new RegExp(`cannot listen on 127.0.0.1:${port}`) });
  await b.stop();

  const agent = new http.Agent({ keepAlive: true });
  await new Promise<void>((resolve) => http.get({ host: '127.0.0.1', port, path: '/api/state', agent }, (res) => res.resume().on('end', resolve)));
  await Promise.all([a.stop(), a.stop()]);
  await a.stop();
  t.equal(a.address(), undefined);
  agent.destroy();
  const never = createDashboardServer({ listen: '127.0.0.1:0', sources });
  await t.resolves(never.stop(), 'stop before start is harmless');
});

t.test('deferred sources answer 503 until bound', async (t) => {
  const sources = deferredDashboardSources();
  const server = createDashboardServer({ listen: '127.0.0.1:0', sources });
  await server.start();
  t.teardown(() => server.stop());
  const port = server.address()?.port ?? 0;
  t.equal((await get(port, '/api/rules')).status, 503);
  sources.bind({ state: () => ({ s: 1 }), agents: () => [], telemetry: () => ({}), rules: () => ({ rules: 2 }) });
  t.same(JSON.parse((await get(port, '/api/rules')).body), { rules: 2 });
  sources.bind(undefined);
  t.equal((await get(port, '/api/state')).status, 503, 'unbound again at shutdown');
});
