// Blueprints: the validated manifest plus an immutable in-memory snapshot of the agent folder's modules.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { ErrorCode, OpenStarryError } from '../errors.ts';
import type { Problem } from '../validation.ts';
import { BLUEPRINT_LIMITS, deepFreeze, loadBlueprint, normalise, parseManifest } from './blueprint.ts';

const manifest = (extra: Record<string, unknown> = {}) => JSON.stringify({ id: 'probe', version: '1.0.0', plugins: ['./main.js'], ...extra });
const plugin = 'export default { name: "p", start() {} };';

async function loadError(file: string): Promise<OpenStarryError> {
  const err = await loadBlueprint(file).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof OpenStarryError)) throw new Error(`expected an OpenStarryError, got ${String(err)}`);
  return err;
}

const problemsOf = (err: OpenStarryError) => (err.details as { problems: Problem[] }).problems;

t.test('parseManifest on invalid JSON names the file, as a document-level problem', async (t) => {
  const err = (() => {
    try {
      parseManifest('{ "id": "x", ', '/agents/broken/agent.json');
    } catch (e) {
      return e;
    }
  })();
  t.ok(err instanceof OpenStarryError);
  t.match(err, { code: ErrorCode.MANIFEST_INVALID, message: /^\/agents\/broken\/agent\.json: \(document\): not valid JSON/ });
  t.match((err as OpenStarryError).details, { file: '/agents/broken/agent.json', problems: [{ path: '', message: /not valid JSON/ }] });
});

t.test('parseManifest schema errors: one line per problem, each with file and field path', async (t) => {
  const err = (() => {
    try {
      parseManifest(JSON.stringify({ id: 'BAD', version: '1.0.0', plugins: [] }), '/a/agent.json');
    } catch (e) {
      return e as OpenStarryError;
    }
  })();
  t.equal(err?.code, ErrorCode.MANIFEST_INVALID);
  const lines = err?.message.split('\n') ?? [];
  t.equal(lines.length, 2);
  t.match(lines, [/^\/a\/agent\.json: id: /, /^\/a\/agent\.json: plugins: must list at least one plugin module$/]);
});

t.test('loads a folder: manifest with defaults, absolute paths, nested modules; skips node_modules, dot entries and non-modules', async (t) => {
  const dir = t.testdir({
    'agent.json': manifest({ plugins: ['./main.js', 'lib/extra.mjs'], config: { nested: { list: [1, 2] } } }),
    'main.js': plugin,
    'README.md': '# not code',
    'data.json': '{}',
    'types.ts': 'export {};',
    '.eslintrc.js': 'module.exports = {};',
    lib: { 'extra.mjs': plugin, 'math.js': 'export const x = 1;', deep: { 'inner.js': 'export const y = 2;' } },
    node_modules: { dep: { 'index.js': 'export default 1;' } },
    '.cache': { 'hidden.js': 'export default 1;' },
  });
  const cwd = process.cwd();
  const bp = await loadBlueprint(path.relative(cwd, path.join(dir, 'agent.json')));
  t.equal(bp.manifestPath, path.join(dir, 'agent.json'), 'manifestPath is absolute');
  t.equal(bp.rootDir, dir);
  t.equal(bp.manifest.id, 'probe');
  t.equal(bp.manifest.isolation, 'worker', 'defaults filled in');
  t.same(Object.keys(bp.files).sort(), ['lib/deep/inner.js', 'lib/extra.mjs', 'lib/math.js', 'main.js']);
  t.equal(bp.files['lib/math.js'], 'export const x = 1;');
  t.match(bp.hash, /^[0-9a-f]{64}$/);
});

t.test('the blueprint is deeply frozen and does not follow later edits on disk', async (t) => {
  const dir = t.testdir({ 'agent.json': manifest({ config: { nested: { list: [1, 2] } } }), 'main.js': plugin });
  const bp = await loadBlueprint(path.join(dir, 'agent.json'));
  for (const [what, value] of [
    ['blueprint', bp],
    ['manifest', bp.manifest],
    ['plugins', bp.manifest.plugins],
    ['limits', bp.manifest.limits],
    ['restart', bp.manifest.restart],
    ['config', bp.manifest.config],
    ['config.nested', bp.manifest.config.nested],
    ['config.nested.list', (bp.manifest.config.nested as { list: number[] }).list],
    ['files', bp.files],
  ] as const) {
    t.ok(Object.isFrozen(value), `${what} is frozen`);
  }
  t.throws(() => {
    (bp.manifest.config as Record<string, unknown>).extra = 1;
  }, TypeError);
  t.throws(() => {
    (bp.manifest.plugins as string[]).push('x.js');
  }, TypeError);
  t.throws(() => {
    (bp.files as Record<string, string>)['main.js'] = 'evil';
  }, TypeError);

  await writeFile(path.join(dir, 'main.js'), 'export default { name: "changed", start() {} };');
  t.equal(bp.files['main.js'], plugin, 'snapshot taken at load time');
});

t.test('deepFreeze freezes nested values and leaves primitives alone', async (t) => {
  const v = deepFreeze({ a: { b: [{ c: 1 }] } });
  t.ok(Object.isFrozen(v.a.b[0]));
  t.equal(deepFreeze(5), 5);
  t.equal(deepFreeze(null), null);
});

t.test('a missing plugin file is a problem at plugins.<index>; every missing one is listed', async (t) => {
  const dir = t.testdir({
    'agent.json': manifest({ plugins: ['./gone.js', './main.js', 'lib/also-gone.mjs', 'node_modules/dep/index.js'] }),
    'main.js': plugin,
    node_modules: { dep: { 'index.js': plugin } },
  });
  const file = path.join(dir, 'agent.json');
  const err = await loadError(file);
  t.equal(err.code, ErrorCode.MANIFEST_INVALID);
  t.same(
    problemsOf(err).map((p) => p.path),
    ['plugins.0', 'plugins.2', 'plugins.3'],
  );
  t.match(problemsOf(err)[0]?.message, /"\.\/gone\.js" does not exist/);
  t.ok(err.message.startsWith(`${file}: plugins.0: `), 'message names the file and the field');
  t.match((err.details as { file: string }).file, file);
});

t.test('a missing manifest and invalid manifest JSON are ERR_MANIFEST_INVALID naming the absolute file', async (t) => {
  const dir = t.testdir({ nothing: {}, bad: { 'agent.json': '{ nope', 'main.js': plugin } });
  const missing = await loadError(path.join(dir, 'nothing', 'agent.json'));
  t.equal(missing.code, ErrorCode.MANIFEST_INVALID);
  t.match(missing.message, `${path.join(dir, 'nothing', 'agent.json')}: cannot read manifest`);
  t.equal((missing.cause as { code?: string }).code, 'ENOENT', 'the fs error is the cause');
  const bad = await loadError(path.join(dir, 'bad', 'agent.json'));
  t.match(bad.message, `${path.join(dir, 'bad', 'agent.json')}: (document): not valid JSON`);
});

t.test('the hash is stable and changes when a plugin, another module or the manifest changes', async (t) => {
  const dir = t.testdir({ 'agent.json': manifest(), 'main.js': plugin, lib: { 'util.js': 'export const a = 1;' } });
  const file = path.join(dir, 'agent.json');
  const h1 = (await loadBlueprint(file)).hash;
  t.equal((await loadBlueprint(file)).hash, h1, 'same content, same hash');

  await writeFile(path.join(dir, 'main.js'), `${plugin}\n// edited`);
  const h2 = (await loadBlueprint(file)).hash;
  t.not(h2, h1, 'plugin edit changes the hash');

  await writeFile(path.join(dir, 'lib', 'util.js'), 'export const a = 2;');
  const h3 = (await loadBlueprint(file)).hash;
  t.not(h3, h2, 'helper module edit changes the hash');

  await writeFile(file, manifest({ description: 'now described' }));
  const h4 = (await loadBlueprint(file)).hash;
  t.not(h4, h3, 'manifest edit changes the hash');

  await writeFile(path.join(dir, 'NOTES.md'), 'not code');
  t.equal((await loadBlueprint(file)).hash, h4, 'non-module files do not count');
});

t.test('file names cannot be confused with content in the hash', async (t) => {
  // (one testdir per test: a second t.testdir() call would replace the first)
  const root = t.testdir({
    a: { 'agent.json': manifest(), 'main.js': plugin, 'ab.js': 'c' },
    b: { 'agent.json': manifest(), 'main.js': plugin, 'a.js': 'bc' },
  });
  t.not((await loadBlueprint(path.join(root, 'a', 'agent.json'))).hash, (await loadBlueprint(path.join(root, 'b', 'agent.json'))).hash);
});

t.test(`more than ${BLUEPRINT_LIMITS.maxFiles} modules is ERR_MANIFEST_INVALID; exactly the limit is fine`, async (t) => {
  const files = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`m${i}.js`, 'export {};']));
  const root = t.testdir({
    ok: { 'agent.json': manifest({ plugins: ['m0.js'] }), ...files(BLUEPRINT_LIMITS.maxFiles) },
    over: { 'agent.json': manifest({ plugins: ['lib/m0.js'] }), lib: files(BLUEPRINT_LIMITS.maxFiles + 1) },
  });
  const ok = path.join(root, 'ok');
  const over = path.join(root, 'over');
  t.equal(Object.keys((await loadBlueprint(path.join(ok, 'agent.json'))).files).length, BLUEPRINT_LIMITS.maxFiles);
  const err = await loadError(path.join(over, 'agent.json'));
  t.equal(err.code, ErrorCode.MANIFEST_INVALID);
  t.match(err.message, `${path.join(over, 'agent.json')}: agent folder holds more than ${BLUEPRINT_LIMITS.maxFiles} modules`);
});

t.test(`more than ${BLUEPRINT_LIMITS.maxBytes} bytes of modules is ERR_MANIFEST_INVALID`, async (t) => {
  const half = `// ${'x'.repeat(BLUEPRINT_LIMITS.maxBytes / 2)}`;
  const dir = t.testdir({ 'agent.json': manifest(), 'main.js': half, 'big.js': half });
  const err = await loadError(path.join(dir, 'agent.json'));
  t.equal(err.code, ErrorCode.MANIFEST_INVALID);
  t.match(err.message, /bytes of code; bundle it/);
});

t.test(`modules nested deeper than ${BLUEPRINT_LIMITS.maxDepth} folders are not snapshotted`, async (t) => {
  const nest = (depth: number, leaf: Record<string, string>): Record<string, unknown> => (depth === 0 ? leaf : { d: nest(depth - 1, leaf) });
  const root = t.testdir({
    at: { 'agent.json': manifest(), 'main.js': plugin, ...(nest(BLUEPRINT_LIMITS.maxDepth, { 'deepest.js': 'export {};' }) as Record<string, never>) },
    below: { 'agent.json': manifest(), 'main.js': plugin, ...(nest(BLUEPRINT_LIMITS.maxDepth + 1, { 'too-deep.js': 'export {};' }) as Record<string, never>) },
  });
  const dir = path.join(root, 'at');
  const deeper = path.join(root, 'below');
  const keys = Object.keys((await loadBlueprint(path.join(dir, 'agent.json'))).files);
  t.ok(keys.includes(`${'d/'.repeat(BLUEPRINT_LIMITS.maxDepth)}deepest.js`), 'at the depth limit: included');
  t.same(Object.keys((await loadBlueprint(path.join(deeper, 'agent.json'))).files), ['main.js'], 'below it: left out');
});

t.test('symlinked files are not followed into the snapshot', async (t) => {
  const root = t.testdir({
    outside: { 'secret.js': 'export const key = "s3cret";' },
    agent: { 'agent.json': manifest(), 'main.js': plugin, 'link.js': t.fixture('symlink', '../outside/secret.js') },
  });
  const dir = path.join(root, 'agent');
  t.equal(await readFile(path.join(dir, 'link.js'), 'utf8'), 'export const key = "s3cret";', 'the link works on disk');
  t.same(Object.keys((await loadBlueprint(path.join(dir, 'agent.json'))).files), ['main.js']);
});

t.test('normalise: posix separators, no leading ./', async (t) => {
  t.equal(normalise('./main.js'), 'main.js');
  t.equal(normalise('lib\\x.js'), 'lib/x.js');
  t.equal(normalise('lib//x.js'), 'lib/x.js');
  t.equal(normalise('./lib/./x.js'), 'lib/x.js');
});
