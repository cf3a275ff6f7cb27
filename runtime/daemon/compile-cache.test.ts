// enableCompileCache (compile-cache.ts): the cache goes under the daemon's home; Node's own NODE_COMPILE_CACHE wins;
// a Node without the API (20) or a failing one costs nothing. The real cache on Node 22/24 is checked by
// runtime/e2e/node-versions.test.ts.
import t from 'tap';
import { enableCompileCache } from './compile-cache.ts';

t.test('enabled under <home>/cache/v8', async (t) => {
  const dirs: string[] = [];
  const dir = enableCompileCache('/var/lib/openstarry', { enable: (d) => (dirs.push(d), { status: 1, directory: d }), env: {} });
  t.equal(dir, '/var/lib/openstarry/cache/v8');
  t.same(dirs, ['/var/lib/openstarry/cache/v8']);
});

t.test("NODE_COMPILE_CACHE is Node's own switch: left to Node", async (t) => {
  const dirs: string[] = [];
  t.equal(enableCompileCache('/h', { enable: (d) => (dirs.push(d), { status: 1 }), env: { NODE_COMPILE_CACHE: '/elsewhere' } }), undefined);
  t.same(dirs, []);
});

t.test('no API (Node 20), or one that throws: no cache, no error', async (t) => {
  t.equal(enableCompileCache('/h', { env: {} }), undefined);
  t.equal(enableCompileCache('/h', { enable: () => { throw new Error('EACCES'); }, env: {} }), undefined);
});
