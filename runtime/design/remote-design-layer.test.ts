// The remote design layer end to end in one process: the real service (DesignLayerServer) on a loopback port,
// the daemon's store syncing from it into a real cache folder, the service edited, broken and stopped.
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { ErrorCode } from '../errors.ts';
import { DesignLayerServer } from './design-layer-server.ts';
import { RemoteTemplateSource } from './remote-source.ts';
import { TemplateCache } from './template-cache.ts';
import { TemplateStore } from './template-store.ts';

const plugin = (tag: string) => `export default { name: "p", start(ctx) { ctx.log.info(${JSON.stringify(tag)}); } };`;
const manifest = (id: string, version = '1.0.0', extra: Record<string, unknown> = {}) => JSON.stringify({ id, version, plugins: ['./main.js'], ...extra });

async function writeTemplate(dir: string, id: string, version: string, tag = version): Promise<void> {
  await mkdir(path.join(dir, id), { recursive: true });
  await writeFile(path.join(dir, id, 'agent.json'), manifest(id, version));
  await writeFile(path.join(dir, id, 'main.js'), plugin(tag));
}

async function setup(t: Test) {
  const root = t.testdir({ service: {}, local: {}, home: {} });
  const serviceDir = path.join(root, 'service');
  const localDir = path.join(root, 'local');
  const cacheDir = path.join(root, 'home', 'design-cache');
  await writeTemplate(serviceDir, 'alpha', '1.0.0');
  await writeTemplate(serviceDir, 'shared', '2.0.0', 'from the service');
  await writeTemplate(localDir, 'shared', '1.0.0', 'local');
  await writeTemplate(localDir, 'local-only', '1.0.0');
  let server = await DesignLayerServer.listen({ dir: serviceDir, port: 0 });
  const url = server.url;
  const port = Number(new URL(url).port);
  t.teardown(() => server.close());
  const warnings: string[] = [];
  const open = () => TemplateStore.open(localDir, { remote: { url, cacheDir, timeoutMs: 2000 }, warn: (m) => warnings.push(m) });
  return {
    serviceDir,
    localDir,
    cacheDir,
    url,
    warnings,
    open,
    stopService: () => server.close(),
    startService: async () => {
      server = await DesignLayerServer.listen({ dir: serviceDir, port });
    },
  };
}

t.test('boot syncs the service into the cache; the service wins over a local template with the same id', async (t) => {
  const s = await setup(t);
  const store = await s.open();
  t.same(store.list().map((i) => [i.id, i.source, i.version]), [['alpha', 'remote', '1.0.0'], ['local-only', 'local', '1.0.0'], ['shared', 'remote', '2.0.0']]);
  t.match(store.remoteState(), { url: s.url, state: 'synced', templates: 2, cacheDir: s.cacheDir });
  t.ok(store.remoteState()?.syncedAt, 'a full sync is recorded');
  t.equal(store.get('alpha').rootDir, path.join(s.cacheDir, 'templates', 'alpha'), 'remote templates run from the cache folder');
  t.match(store.get('shared').files['main.js'], 'from the service');
  const index = JSON.parse(await readFile(path.join(s.cacheDir, 'index.json'), 'utf8')) as { url: string; hashes: Record<string, string> };
  t.same(index.hashes, { alpha: store.get('alpha').hash, shared: store.get('shared').hash });
  t.same(s.warnings, []);

  // A second boot with nothing changed downloads nothing and rewrites nothing but the index.
  const before = (await readdir(path.join(s.cacheDir, 'templates'))).sort();
  const again = await s.open();
  t.same((await readdir(path.join(s.cacheDir, 'templates'))).sort(), before);
  t.equal(again.get('alpha').hash, store.get('alpha').hash);
});

t.test('a template changed on the service reaches only later spawns; the frozen blueprint stays', async (t) => {
  const s = await setup(t);
  const store = await s.open();
  const running = await store.fresh('alpha');
  await writeTemplate(s.serviceDir, 'alpha', '1.1.0');
  const later = await store.fresh('alpha');
  t.equal(later.manifest.version, '1.1.0');
  t.equal(running.manifest.version, '1.0.0', 'the blueprint an agent runs is never changed under it');
  t.match(running.files['main.js'], '1.0.0');
  t.ok(Object.isFrozen(running.files));
  t.equal(store.get('alpha').manifest.version, '1.1.0', 'the store now holds the new version');

  // A template added to the service after boot can be spawned without a restart.
  await writeTemplate(s.serviceDir, 'newcomer', '0.1.0');
  t.equal((await store.fresh('newcomer')).manifest.version, '0.1.0');
  // One removed from the service is gone; a local template of that id would take over.
  await rm(path.join(s.serviceDir, 'shared'), { recursive: true });
  t.match((await store.fresh('shared')).files['main.js'], 'local', 'the local template comes back when the service drops its own');
});

t.test('an invalid template from the service is rejected with its URL and field; the cached good version is kept', async (t) => {
  const s = await setup(t);
  const store = await s.open();
  const good = store.get('alpha');
  await writeFile(path.join(s.serviceDir, 'alpha', 'agent.json'), manifest('alpha', '9.0.0', { capabilities: ['sensor:env0:explode'] }));
  const served = await store.fresh('alpha');
  t.equal(served.hash, good.hash, 'the spawn runs the cached good version');
  t.match(await readFile(path.join(s.cacheDir, 'templates', 'alpha', 'agent.json'), 'utf8'), '"1.0.0"', 'the cache still holds the good version');
  // The service itself excludes it, so the daemon sees a 422 with the service's own validation message.
  const bad = store.invalid.find((i) => i.file === `${s.url}/templates/alpha`);
  t.match(bad?.error, /capabilities\.0/);
  t.match(s.warnings.join('\n'), /template "alpha" from .* rejected, keeping the cached good version \(1\.0\.0\)/);

  // Fixed on the service: the next spawn takes it and the rejection is cleared.
  await writeTemplate(s.serviceDir, 'alpha', '9.0.1');
  t.equal((await store.fresh('alpha')).manifest.version, '9.0.1');
  t.notOk(store.invalid.some((i) => i.file === `${s.url}/templates/alpha`));

  // Invalid at boot with nothing cached: excluded and reported, the boot goes on.
  await writeFile(path.join(s.serviceDir, 'alpha', 'agent.json'), '{ "id": "alpha", ');
  await rm(s.cacheDir, { recursive: true });
  const fresh = await s.open();
  t.throws(() => fresh.get('alpha'), { code: ErrorCode.TEMPLATE_NOT_FOUND });
  t.ok(fresh.invalid.some((i) => i.file.startsWith(s.url) && /not valid JSON/.test(i.error)), 'the service lists it as invalid');
});

t.test('the service down mid-run: spawns use the cache, status says unreachable; back up: synced again', async (t) => {
  const s = await setup(t);
  const store = await s.open();
  await s.stopService();
  const b = await store.fresh('alpha');
  t.equal(b.manifest.version, '1.0.0');
  t.match(store.remoteState(), { state: 'unreachable', lastError: /ECONNREFUSED|UND_ERR_SOCKET/ });
  t.same(store.list().filter((i) => i.id === 'alpha').map((i) => i.source), ['cache']);
  await t.rejects(store.fresh('never-cached'), { code: ErrorCode.DESIGN_LAYER_UNREACHABLE }, 'an id never cached cannot be spawned while the service is down');
  t.equal((await store.fresh('local-only')).manifest.id, 'local-only', 'local templates are unaffected');

  await s.startService();
  await store.fresh('alpha');
  t.match(store.remoteState(), { state: 'synced' });
  t.notOk('lastError' in (store.remoteState() ?? {}));
});

t.test('the service down at boot: the daemon boots from the cache and says so', async (t) => {
  const s = await setup(t);
  await s.open();
  await s.stopService();
  const store = await s.open();
  t.same(store.list().map((i) => [i.id, i.source]), [['alpha', 'cache'], ['local-only', 'local'], ['shared', 'cache']]);
  t.match(store.remoteState(), { state: 'unreachable', templates: 2 });
  t.match(s.warnings.join('\n'), /unreachable; booting from 2 cached template\(s\)/);

  // The service comes back: the periodic resync picks it up without any spawn, and finds what is new there.
  await s.startService();
  await writeTemplate(s.serviceDir, 'added-later', '1.0.0');
  await store.resync();
  t.match(store.remoteState(), { state: 'synced', templates: 3 });
  t.same(store.list().filter((i) => i.source !== 'local').map((i) => [i.id, i.source]), [['added-later', 'remote'], ['alpha', 'remote'], ['shared', 'remote']]);
  await s.stopService();

  // Never synced and down: the local templates still boot.
  await rm(s.cacheDir, { recursive: true });
  const bare = await s.open();
  t.same(bare.list().map((i) => [i.id, i.source]), [['local-only', 'local'], ['shared', 'local']]);
});

t.test('two spawns of an updated template share one download and install', async (t) => {
  const s = await setup(t);
  const store = await s.open();
  await writeTemplate(s.serviceDir, 'alpha', '2.0.0');
  const all = await Promise.all(Array.from({ length: 10 }, () => store.fresh('alpha')));
  t.ok(all.every((b) => b.manifest.version === '2.0.0'));
  t.same(store.invalid.filter((i) => i.file.startsWith(s.url)), [], 'no install raced another into a rejection');
});

t.test('the cache: a damaged entry is not run, an interrupted install is repaired', async (t) => {
  const s = await setup(t);
  await s.open();
  // A card that lost blocks: the module no longer matches the index.
  await writeFile(path.join(s.cacheDir, 'templates', 'shared', 'main.js'), 'export default { name: "p", start() { /* garbage */ } };');
  // A power cut between the two renames of an install: only the old folder is there.
  await rename(path.join(s.cacheDir, 'templates', 'alpha'), path.join(s.cacheDir, 'templates', '.old-alpha-0badf00d'));
  await mkdir(path.join(s.cacheDir, 'templates', '.staging-alpha-12345678'));
  await s.stopService();
  const store = await s.open();
  t.equal(store.get('alpha').manifest.version, '1.0.0', 'the old folder was put back');
  t.same((await readdir(path.join(s.cacheDir, 'templates'))).filter((n) => n.startsWith('.')), [], 'no staging or old folders left');
  t.match(store.get('shared').files['main.js'], 'local', 'the damaged cached template is not run; the local one is');
  t.ok(store.invalid.some((i) => /does not match the cached/.test(i.error)));
});

t.test('a template id can never name the cache index', async (t) => {
  const home = t.testdir({});
  const cache = new TemplateCache(path.join(home, 'c'));
  await cache.open();
  const m = JSON.stringify({ id: 'index.json', version: '1.0.0', plugins: ['./main.js'] });
  const files = { 'main.js': plugin('x') };
  const { blueprintHash } = await import('./blueprint.ts');
  await cache.install({ id: 'index.json', version: '1.0.0', manifest: m, files, hash: blueprintHash(m, files) }, 'http://svc/templates/index.json', 'http://svc');
  const reopened = await new TemplateCache(path.join(home, 'c')).open();
  t.same([...reopened.templates.keys()], ['index.json'], 'the index is still a file and the template is still trusted');
});

t.test('what a hostile or broken service sends is refused', async (t) => {
  const home = t.testdir({});
  const cache = new TemplateCache(path.join(home, 'c'));
  await cache.open();
  const good = { id: 'x', version: '1.0.0', manifest: manifest('x'), files: { 'main.js': plugin('x') } };
  const respond = (body: unknown, status = 200) => new RemoteTemplateSource({ url: 'http://svc', fetch: async () => new Response(JSON.stringify(body), { status }) });

  await t.rejects(respond({ ...good, hash: 'a'.repeat(64) }).get('x').then((p) => cache.install(p, 'http://svc/templates/x', 'http://svc')), {
    code: ErrorCode.TEMPLATE_INVALID,
    message: /http:\/\/svc\/templates\/x: hash: content hash .* does not match/,
  });
  for (const bad of ['../escape.js', '/etc/passwd.js', 'a/./b.js', '.hidden.js', 'run.sh']) {
    await t.rejects(respond({ ...good, hash: 'a'.repeat(64), files: { [bad]: 'x' } }).get('x'), { code: ErrorCode.TEMPLATE_INVALID, message: /files\./ }, `module path ${bad}`);
  }
  await t.rejects(respond({ ...good, id: 'y', hash: 'a'.repeat(64) }).get('x'), { message: /asked for "x", the service sent "y"/ });
  await t.rejects(respond('not a listing').list(), { code: ErrorCode.TEMPLATE_INVALID, message: /listing is malformed/ });
  await t.rejects(respond({}, 503).list(), { code: ErrorCode.DESIGN_LAYER_UNREACHABLE, message: /HTTP 503/ });
  await t.rejects(respond({}, 404).get('x'), { code: ErrorCode.TEMPLATE_NOT_FOUND });
  const huge = new RemoteTemplateSource({ url: 'http://svc', fetch: async () => new Response('x'.repeat(20 * 1024 * 1024)) });
  await t.rejects(huge.get('x'), { code: ErrorCode.TEMPLATE_INVALID, message: /larger than the/ });
  const never = new RemoteTemplateSource({ url: 'http://svc', timeoutMs: 100, fetch: (_u, init) => new Promise((_r, reject) => init?.signal?.addEventListener('abort', () => reject(new Error('aborted')))) });
  const hold = setInterval(() => undefined, 50); // AbortSignal.timeout's timer is unref'd: keep this test alive for it
  await t.rejects(never.list(), { code: ErrorCode.DESIGN_LAYER_UNREACHABLE, message: /no answer within 100 ms/ });
  clearInterval(hold);
  t.same(await readdir(cache.templatesDir), [], 'nothing refused was ever written to the cache');
});

t.test('the service: read-only JSON routes', async (t) => {
  const dir = t.testdir({ ok: { 'agent.json': manifest('ok'), 'main.js': plugin('ok') }, bad: { 'agent.json': manifest('bad', 'nope'), 'main.js': plugin('b') } });
  const server = await DesignLayerServer.listen({ dir, port: 0 });
  t.teardown(() => server.close());
  const listing = (await (await fetch(`${server.url}/templates`)).json()) as { templates: { id: string }[]; invalid: { file: string }[] };
  t.same(listing.templates.map((x) => x.id), ['ok']);
  t.same(listing.invalid.map((x) => path.basename(path.dirname(x.file))), ['bad']);
  t.equal((await fetch(`${server.url}/templates/bad`)).status, 422);
  t.equal((await fetch(`${server.url}/templates/nope`)).status, 404);
  t.equal((await fetch(`${server.url}/templates/..%2F..%2Fetc`)).status, 404);
  t.equal((await fetch(`${server.url}/templates`, { method: 'POST', body: '{}' })).status, 405);
  const head = await fetch(`${server.url}/templates/ok`, { method: 'HEAD' });
  t.equal(head.status, 200);
  t.equal(await head.text(), '');
  await server.close();
  await server.close();
});
