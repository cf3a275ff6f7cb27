// lazyBuiltin loads its builtin at the first call, not before, and hands out Node's own module object every time.
import { execFileSync } from 'node:child_process';
import * as zlib from 'node:zlib';
import t from 'tap';
import { lazyBuiltin } from './lazy-builtin.ts';

t.test("the getter returns Node's module, the same object at every call", async (t) => {
  const get = lazyBuiltin<typeof zlib>('node:zlib');
  t.equal(get().gzipSync, zlib.gzipSync);
  t.equal(get(), get());
});

t.test('nothing is loaded until the first call (a fresh process, which has not loaded node:zlib)', async (t) => {
  const script = [
    "import { lazyBuiltin } from './runtime/lazy-builtin.ts';",
    "const loaded = () => process.moduleLoadList.includes('NativeModule zlib');",
    "const get = lazyBuiltin('node:zlib');",
    'const before = loaded();',
    'get();',
    'console.log(JSON.stringify([before, loaded()]));',
  ].join('\n');
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
  t.same(JSON.parse(out), [false, true]);
});
