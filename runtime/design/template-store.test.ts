// The local template store: scan, validate, exclude the invalid ones (with file and field), serve by id.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import type { Test } from 'tap';
import { ErrorCode, OpenStarryError } from '../errors.ts';
import { TemplateStore, scanTemplateDir, templateInfo } from './template-store.ts';

const SHIPPED = fileURLToPath(new URL('../../agents/', import.meta.url));
const plugin = 'export default { name: "p", start() {} };';
const manifest = (id: string, extra: Record<string, unknown> = {}) => JSON.stringify({ id, version: '1.0.0', plugins: ['./main.js'], ...extra });

function fixture(t: Test) {
  return t.testdir({
    alpha: { 'agent.json': manifest('alpha', { description: 'first', capabilities: ['sensor:env0:read'] }), 'main.js': plugin },
    beta: { 'agent.json': manifest('beta', { isolation: 'process' }), 'main.js': plugin },
    'broken-json': { 'agent.json': '{ "id": "broken-json", ', 'main.js': plugin },
    'bad-schema': { 'agent.json': manifest('bad-schema', { limits: { memoryMb: 1 } }), 'main.js': plugin },
    // Same id as alpha; sorts after it, so it is the one excluded.
    'zz-alpha-copy': { 'agent.json': manifest('alpha'), 'main.js': plugin },
    helpers: { 'shared.js': 'export const x = 1;' },
    '.hidden': { 'agent.json': manifest('hidden'), 'main.js': plugin },
    'README.md': 'templates live here',
  });
}

t.test('scanTemplateDir: valid templates served, invalid ones reported with file and field, helper folders skipped', async (t) => {
  const dir = fixture(t);
  const scan = await scanTemplateDir(path.relative(process.cwd(), dir));
  t.equal(scan.dir, dir, 'absolute dir');
  t.same([...scan.templates.keys()].sort(), ['alpha', 'beta']);
  t.equal(scan.templates.get('alpha')?.manifestPath, path.join(dir, 'alpha', 'agent.json'), 'the first alpha wins');

  const byFolder = Object.fromEntries(scan.invalid.map((i) => [path.basename(path.dirname(i.file)), i]));
  t.same(Object.keys(byFolder).sort(), ['bad-schema', 'broken-json', 'zz-alpha-copy'], 'helpers/, .hidden/ and files are not templates');

  const json = byFolder['broken-json'];
  t.equal(json?.file, path.join(dir, 'broken-json', 'agent.json'));
  t.match(json?.error, `${path.join(dir, 'broken-json', 'agent.json')}: (document): not valid JSON`);
  t.same(json?.problems.map((p) => p.path), ['']);

  const schema = byFolder['bad-schema'];
  t.match(schema?.error, `${path.join(dir, 'bad-schema', 'agent.json')}: limits.memoryMb:`);
  t.same(schema?.problems.map((p) => p.path), ['limits.memoryMb']);

  const dup = byFolder['zz-alpha-copy'];
  t.match(dup?.error, /template id "alpha" is already used by .*alpha\/agent\.json/);
  t.same(dup?.problems, [{ path: 'id', message: 'duplicate template id "alpha"' }]);
});

t.test('a template whose plugin file is missing is excluded at plugins.0', async (t) => {
  const dir = t.testdir({ lonely: { 'agent.json': manifest('lonely') } });
  const scan = await scanTemplateDir(dir);
  t.equal(scan.templates.size, 0);
  t.same(scan.invalid[0]?.problems.map((p) => p.path), ['plugins.0']);
});

t.test('TemplateStore.get: valid id, excluded id, unknown id', async (t) => {
  const dir = fixture(t);
  const store = await TemplateStore.open(dir);
  t.equal(store.dir, dir);
  t.equal(store.get('alpha').manifest.id, 'alpha');
  t.equal(store.get('beta').manifest.isolation, 'process');

  const excluded = (() => {
    try {
      store.get('bad-schema');
    } catch (e) {
      return e;
    }
  })();
  t.ok(excluded instanceof OpenStarryError);
  t.match(excluded, { code: ErrorCode.TEMPLATE_INVALID, message: /template "bad-schema" is invalid and was excluded:\n.*limits\.memoryMb/ });
  t.same((excluded as OpenStarryError).details, { problems: store.invalid.find((i) => i.file.includes('bad-schema'))?.problems });

  t.throws(() => store.get('broken-json'), { code: ErrorCode.TEMPLATE_INVALID });
  t.throws(() => store.get('nope'), { code: ErrorCode.TEMPLATE_NOT_FOUND, message: `no template "nope" in ${dir}` });
  t.throws(() => store.get('helpers'), { code: ErrorCode.TEMPLATE_NOT_FOUND }, 'a helper folder is not a template');
  t.equal(store.invalid.length, 3);
});

t.test('TemplateStore.list and templateInfo', async (t) => {
  const dir = fixture(t);
  const store = await TemplateStore.open(dir);
  const list = store.list().sort((a, b) => a.id.localeCompare(b.id));
  t.equal(list.length, 2);
  t.same(list[0], {
    id: 'alpha',
    version: '1.0.0',
    description: 'first',
    path: path.join(dir, 'alpha', 'agent.json'),
    hash: store.get('alpha').hash,
    isolation: 'worker',
    capabilities: ['sensor:env0:read'],
    source: 'local',
  });
  t.notOk('description' in (list[1] ?? {}), 'no description key when the manifest has none');
  t.same(templateInfo(store.get('beta')).isolation, 'process');
});

t.test('an empty dir gives an empty store; a missing dir is ERR_TEMPLATE_NOT_FOUND', async (t) => {
  const dir = t.testdir({ empty: {}, 'file.txt': 'x' });
  const empty = await scanTemplateDir(path.join(dir, 'empty'));
  t.equal(empty.templates.size, 0);
  t.same(empty.invalid, []);
  const err = await scanTemplateDir(path.join(dir, 'missing')).catch((e: unknown) => e);
  t.ok(err instanceof OpenStarryError);
  t.equal((err as OpenStarryError).code, ErrorCode.TEMPLATE_NOT_FOUND);
  t.ok((err as Error).message.startsWith(`template directory ${path.join(dir, 'missing')} cannot be read`), 'names the absolute dir');
  await t.rejects(TemplateStore.open(path.join(dir, 'file.txt')), { code: ErrorCode.TEMPLATE_NOT_FOUND }, 'a file is not a template directory');
});

t.test('the shipped templates in agents/ all validate', async (t) => {
  const scan = await scanTemplateDir(SHIPPED);
  t.same(scan.invalid, [], 'no invalid shipped template');
  t.ok(scan.templates.has('master'), 'master');
  t.ok(scan.templates.has('hello-sensor'), 'hello-sensor');
  for (const [id, bp] of scan.templates) {
    t.equal(path.basename(bp.rootDir), id, `${id} lives in a folder named after its id (so get() can name it when invalid)`);
  }
});

t.test('a deployed version wins over the local template of the same id, and setDeployed(undefined) goes back', async (t) => {
  const dir = fixture(t);
  const deployedDir = path.join(t.testdirName, 'deployed');
  const { mkdirSync, writeFileSync } = await import('node:fs');
  mkdirSync(deployedDir, { recursive: true });
  writeFileSync(path.join(deployedDir, 'agent.json'), manifest('alpha', { version: '2.0.0' }));
  writeFileSync(path.join(deployedDir, 'main.js'), plugin);
  const { loadBlueprint } = await import('./blueprint.ts');
  const store = await TemplateStore.open(dir);
  store.setDeployed('alpha', await loadBlueprint(path.join(deployedDir, 'agent.json')));
  t.equal(store.get('alpha').manifest.version, '2.0.0');
  t.equal((await store.fresh('alpha')).manifest.version, '2.0.0');
  t.equal(store.baseline('alpha'), '1.0.0', 'the baseline is the template the store has without deployments');
  t.match(store.list().find((i) => i.id === 'alpha'), { source: 'deployed', version: '2.0.0' });
  t.equal(store.list().filter((i) => i.id === 'alpha').length, 1);
  store.setDeployed('alpha', undefined);
  t.equal((await store.fresh('alpha')).manifest.version, '1.0.0');
  t.equal(store.baseline('nothing'), undefined);
});
