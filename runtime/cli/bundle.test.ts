// dist/openstarry.js holds only the CLI (issue 12: an instant CLI): what Node loads for `openstarry ps` carries no
// daemon, no schemas, no MQTT; `start`, `validate` and `design-layer serve` load theirs by import() when they run,
// and still work from dist/. Runs the built bundle, like a user would.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { bundledSources, staticClosure } from '../../scripts/testing/bundle-imports.ts';
import { requireTool } from '../../scripts/testing/system-deps.ts';
import { makeKey } from '../design/bundle-keys.test-support.ts';

const exec = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..', '..');
const CLI = path.join(ROOT, 'dist', 'openstarry.js');
if (!existsSync(CLI)) throw new Error('dist/ is missing: run `npm run build` (npm test does it for you)');

t.test('what `openstarry ps` loads holds only the CLI', async (t) => {
  const { files, externals } = await staticClosure(CLI);
  const sources = await bundledSources(files, ROOT);
  t.ok(sources.includes('runtime/cli/main.ts') && sources.includes('runtime/control/control-client.ts'), 'the CLI and its control client are there');
  t.same(sources.filter((s) => s.includes('node_modules')), [], 'no npm package (zod, yaml, mqtt...)');
  // Daemon-only modules: the daemon itself, the supervisor, the HAL, the drivers, the protocol's schemas.
  const daemonOnly = sources.filter((s) => /^runtime\/(daemon\/run|supervisor|isolation|orchestrator|link|control\/(protocol|control-server))|^(hal\/(?!capability-grammar)|drivers\/)/.test(s));
  t.same(daemonOnly, [], 'no daemon code');
  t.same(externals.filter((s) => !s.startsWith('node:')), [], 'only Node built-ins from outside dist/');
  // node:crypto is outside Node 22's startup snapshot: ~4 ms of a call to load (`deploy pack` imports it when it runs).
  t.notOk(sources.some((s) => s.endsWith('builtin-by-require:node:crypto')) || externals.includes('node:crypto'), 'no node:crypto');
});

t.test("`openstarry ps` loads two files, and no module is in two files of dist/ (scripts/build/merge-static-chunks.mjs)", async (t) => {
  const { files } = await staticClosure(CLI);
  t.equal(files.length, 2, `the CLI and one chunk of what it shares with the rest: ${files.map((f) => path.basename(f)).join(' ')}`);
  const dist = path.join(ROOT, 'dist');
  const esm = readdirSync(dist).filter((f) => f.endsWith('.js') && existsSync(path.join(dist, `${f}.map`))).map((f) => path.join(dist, f));
  const where = new Map<string, string[]>();
  for (const file of esm) for (const source of await bundledSources([file], ROOT)) where.set(source, [...(where.get(source) ?? []), path.basename(file)]);
  // The daemon's bundles other than the shared ES modules (agent-host.cjs, wasm-host.js...) are self-contained on purpose.
  const shared = ['openstarry.js', 'openstarryd.js'];
  const twice = [...where].filter(([, inFiles]) => inFiles.filter((f) => f.startsWith('chunk-') || shared.includes(f)).length > 1);
  t.same(twice, [], 'each module of the CLI and the daemon is loaded once, from one file');
});

t.test('the commands that load more still work from dist/', async (t) => {
  const env = { ...process.env, OPENSTARRY_HOME: t.testdir({}) };
  const help = await exec(process.execPath, [CLI, 'start', '--help'], { env });
  t.match(help.stdout, /usage: openstarry start \[--config FILE\]/);
  const ok = await exec(process.execPath, [CLI, 'validate', 'agents/master/agent.json'], { env, cwd: ROOT });
  t.equal(ok.stdout, 'agents/master/agent.json: ok (agent manifest)\n', 'validate loads the schemas');
  const rules = await exec(process.execPath, [CLI, 'validate', 'agents/orchestration.example.yaml'], { env, cwd: ROOT });
  t.match(rules.stdout, /ok \(orchestration rules\)/, 'and the rules loader (CEL)');
  const dir = t.testdir({ 'bad.json': JSON.stringify({ id: 'Bad Id', version: '1', plugins: [] }) });
  const bad = await exec(process.execPath, [CLI, 'validate', path.join(dir, 'bad.json')], { env }).catch((err: { code: number; stderr: string }) => err);
  t.equal('code' in bad ? bad.code : 0, 1, 'a bad manifest exits 1');
  t.match('stderr' in bad ? bad.stderr : '', /bad\.json: id: /, 'naming the file and field');
  // deploy pack loads the bundle code and node:crypto by import() (a builtin's import() is its CommonJS exports here).
  if (!requireTool(t, 'openssl', 'openssl')) return;
  const work = t.testdir({ keys: {}, tpl: { 'agent.json': JSON.stringify({ id: 'packed', version: '1.0.0', plugins: ['./main.js'] }), 'main.js': 'export default { name: "p", start() {} };\n' } });
  const key = await makeKey(path.join(work, 'keys'), 'k');
  const packed = await exec(process.execPath, [CLI, 'deploy', 'pack', 'tpl', '--key', key.privateFile], { env, cwd: work });
  t.match(packed.stdout, /^packed packed@1\.0\.0 -> .*packed-1\.0\.0\.osb \(\d+ bytes\)\nsha256 [0-9a-f]{64}\n/, 'deploy pack signs and prints the sha256');
});
