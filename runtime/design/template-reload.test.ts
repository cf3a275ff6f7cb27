// TemplateStore.reloadLocal (a reload, SIGHUP): the local directory scanned again — added, changed, removed, and a
// template that stopped validating keeps its last good version (reported), which a spawn (fresh) then uses.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { ErrorCode } from '../errors.ts';
import { TemplateStore } from './template-store.ts';

const plugin = 'export default { name: "p", start() {} };';
const manifest = (id: string, version = '1.0.0', extra: Record<string, unknown> = {}) => JSON.stringify({ id, version, plugins: ['./main.js'], ...extra });

function write(dir: string, id: string, text: string): void {
  mkdirSync(path.join(dir, id), { recursive: true });
  writeFileSync(path.join(dir, id, 'agent.json'), text);
  writeFileSync(path.join(dir, id, 'main.js'), plugin);
}

t.test('reloadLocal: added, changed, removed; unchanged ones stay as they were', async (t) => {
  const dir = t.testdir({});
  write(dir, 'alpha', manifest('alpha'));
  write(dir, 'beta', manifest('beta'));
  write(dir, 'gone', manifest('gone'));
  const warnings: string[] = [];
  const store = await TemplateStore.open(dir, { warn: (m) => warnings.push(m) });
  const beta = store.get('beta');

  write(dir, 'alpha', manifest('alpha', '1.1.0'));
  write(dir, 'newcomer', manifest('newcomer'));
  rmSync(path.join(dir, 'gone'), { recursive: true });
  const changes = await store.reloadLocal();
  t.same(changes, { added: ['newcomer'], changed: ['alpha'], removed: ['gone'], kept: [], invalid: [] });
  t.same(store.list().map((i) => `${i.id}@${i.version}`), ['alpha@1.1.0', 'beta@1.0.0', 'newcomer@1.0.0']);
  t.equal(store.get('beta').hash, beta.hash);
  t.throws(() => store.get('gone'), { code: ErrorCode.TEMPLATE_NOT_FOUND });
  t.same(warnings, []);
});

t.test('a template that stopped validating keeps its last good version, reported; a spawn gets that version', async (t) => {
  const dir = t.testdir({});
  write(dir, 'alpha', manifest('alpha'));
  write(dir, 'never-good', manifest('never-good', '1.0.0', { limits: { memoryMb: 1 } }));
  const warnings: string[] = [];
  const store = await TemplateStore.open(dir, { warn: (m) => warnings.push(m) });
  t.equal(store.invalid.length, 1, 'excluded at boot');

  write(dir, 'alpha', manifest('alpha', '2.0.0', { limits: { memoryMb: 1 } }));
  const changes = await store.reloadLocal();
  t.same(changes.kept, ['alpha']);
  t.same(changes.invalid.map((i) => path.basename(path.dirname(i.file))).sort(), ['alpha', 'never-good'], 'both reported');
  t.match(changes.invalid.find((i) => i.file.includes('alpha'))?.error, `${path.join(dir, 'alpha', 'agent.json')}: limits.memoryMb:`);
  t.equal(store.get('alpha').manifest.version, '1.0.0', 'the last good version stays listed');
  t.same(store.list().map((i) => i.id), ['alpha']);
  t.equal(store.invalid.length, 2, 'status shows both errors (templates-excluded)');
  t.throws(() => store.get('never-good'), { code: ErrorCode.TEMPLATE_INVALID }, 'a template never valid is still excluded');

  const spawned = await store.fresh('alpha');
  t.equal(spawned.manifest.version, '1.0.0', 'a spawn runs the last good version');
  t.match(warnings, [/template "alpha" no longer validates, spawning its last good version 1\.0\.0: .*limits\.memoryMb/]);

  write(dir, 'alpha', manifest('alpha', '2.0.1'));
  t.equal((await store.fresh('alpha')).manifest.version, '2.0.1', 'fixed on disk: a spawn reads it again at once');
  const fixed = await store.reloadLocal();
  t.same([fixed.changed, fixed.kept], [['alpha'], []]);
  t.equal(store.get('alpha').manifest.version, '2.0.1');
});

t.test('a directory that cannot be read fails the reload and keeps the current set', async (t) => {
  const top = t.testdir({ templates: {} });
  const dir = path.join(top, 'templates');
  write(dir, 'alpha', manifest('alpha'));
  const store = await TemplateStore.open(dir);
  rmSync(dir, { recursive: true });
  await t.rejects(store.reloadLocal(), { code: ErrorCode.TEMPLATE_NOT_FOUND, message: new RegExp(`^template directory ${dir} cannot be read`) });
  t.same(store.list().map((i) => i.id), ['alpha']);
});
