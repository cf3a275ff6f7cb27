// Which npm packages and files a .deb ships: the externals of scripts/build.mjs, their dependency closure as
// npm laid it out (nested copies, optional packages for other platforms, native addons), and the file pruning.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { ARCHES } from './arch.ts';
import { externalsOf, resolveClosure } from './modules.ts';
import { binScripts, shipsPath } from './prune.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

t.test('the shipped roots are scripts/build.mjs\'s externals, named one by one', async (t) => {
  const externals = externalsOf(readFileSync(path.join(ROOT, 'scripts', 'build.mjs'), 'utf8'));
  t.same(externals.sort(), ['@serialport/bindings-cpp', 'dockerode', 'epoll', 'esbuild', 'i2c-bus']);
  t.throws(() => externalsOf("external: ['@serialport/*']"), /name each external package/);
  t.throws(() => externalsOf('const x = 1;'), /no `external: \[\.\.\.\]` list/);
});

const pkg = (name: string, extra: Record<string, unknown> = {}) => JSON.stringify({ name, version: '1.0.0', license: 'MIT', ...extra });

t.test('the closure follows Node\'s resolution and sorts out native packages', async (t) => {
  const root = t.testdir({
    node_modules: {
      app: { 'package.json': pkg('app', { dependencies: { shared: '1', addon: '1', prebuilt: '1', nan: '1' }, optionalDependencies: { 'other-os': '1', 'optional-native': '1' } }), node_modules: { shared: { 'package.json': pkg('shared', { version: '2.0.0' }) } } },
      shared: { 'package.json': pkg('shared') },
      addon: { 'package.json': pkg('addon', { dependencies: { shared: '1', '@s/helper': '1' } }), 'binding.gyp': '{}' },
      prebuilt: { 'package.json': pkg('prebuilt'), 'binding.gyp': '{}', prebuilds: { 'linux-arm64': { 'prebuilt.glibc.node': '' } } },
      'optional-native': { 'package.json': pkg('optional-native'), 'binding.gyp': '{}' },
      '@s': { helper: { 'package.json': pkg('@s/helper', { license: '(MIT OR Apache-2.0)' }) } },
      nan: { 'package.json': pkg('nan') },
    },
  });
  const closure = resolveClosure(root, ['app'], ARCHES.arm64);
  t.same(
    closure.packages.map((p) => [p.rel, p.native ?? '', p.license]),
    [
      ['node_modules/@s/helper', '', '(MIT OR Apache-2.0)'],
      ['node_modules/addon', 'build', 'MIT'],
      ['node_modules/app', '', 'MIT'],
      ['node_modules/app/node_modules/shared', '', 'MIT'],
      ['node_modules/prebuilt', 'prebuilt', 'MIT'],
      ['node_modules/shared', '', 'MIT'],
    ],
    'nested copy for app, hoisted one for addon; nan (build only) and other-os (not installed) left out',
  );
  t.same(closure.skipped, ['optional-native'], 'an optional addon without a prebuild is left out and named');
  t.equal(resolveClosure(root, ['prebuilt'], ARCHES.amd64).packages[0]?.native, 'build', 'no linux-x64 prebuild: built');
  t.throws(() => resolveClosure(root, ['missing'], ARCHES.arm64), /missing \(needed by scripts\/build\.mjs\) is not installed/);
});

t.test('pruning keeps code, licenses and this architecture\'s glibc prebuild', async (t) => {
  const plain = { prebuildFolder: 'linux-arm64', native: false };
  const native = { prebuildFolder: 'linux-arm64', native: true };
  for (const kept of ['index.js', 'lib/main.js', 'package.json', 'LICENSE', 'LICENSE.md', 'license-mit.txt', 'proto/auth.proto', 'build/src/index.js', 'dist/emscripten-module.wasm']) t.ok(shipsPath(kept, false, plain), kept);
  for (const dropped of ['README.md', 'index.d.ts', 'index.js.map', 'src/binding.cc', 'binding.gyp', 'test/a.js', 'docs/x.html', 'util/pagent.exe', 'tsconfig.json', 'Makefile']) t.notOk(shipsPath(dropped, false, plain), dropped);
  t.notOk(shipsPath('build', true, native), 'a native package\'s build/ is replaced by the target\'s');
  t.ok(shipsPath('build', true, plain), 'a JS package\'s build/ is its code');
  t.ok(shipsPath('prebuilds', true, native));
  t.ok(shipsPath('prebuilds/linux-arm64/x.armv8.glibc.node', false, native));
  t.notOk(shipsPath('prebuilds/linux-arm64/x.armv8.musl.node', false, native));
  t.notOk(shipsPath('prebuilds/linux-x64', true, native));
  t.notOk(shipsPath('node_modules', true, plain), 'nested packages are shipped as packages of their own');
  t.same([...binScripts({ bin: { a: './bin.js', b: 'build/bin/x.js' } })], ['bin.js', 'build/bin/x.js']);
  t.same([...binScripts({ bin: 'bin/esbuild' })], ['bin/esbuild']);
  t.same([...binScripts({})], []);
});
