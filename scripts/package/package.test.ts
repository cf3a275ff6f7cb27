// `npm run package` for real: builds both .debs into a temp dir with the packager's own command line, then checks
// them with dpkg-deb, readelf and lintian — fields and Depends:, the agreed layout, that node_modules holds only
// what cannot be bundled, every binary built for the package's architecture and stripped, the conffile, the
// maintainer scripts, and no lintian error or warning. One of the slow tests (two debs, two lintian runs).
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';
import { staticClosure } from '../testing/bundle-imports.ts';
import { requireTool } from '../testing/system-deps.ts';
import { ARCHES, hostDebArch, NODE_VERSION, prebuildFolder } from './arch.ts';
import { readElf } from './elf.ts';
import { requiredTools } from './tools.ts';

const exec = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const VERSION = '0.1.0';

t.setTimeout(15 * 60_000);

const out = async (file: string, args: string[]) => (await exec(file, args, { maxBuffer: 64 * 2 ** 20 })).stdout;

t.test('both .debs: layout, binaries, Depends, conffile, maintainer scripts, lintian', async (t) => {
  for (const tool of [...requiredTools([ARCHES.arm64, ARCHES.amd64], hostDebArch()), { command: 'lintian', aptPackage: 'lintian' }]) {
    if (!requireTool(t, tool.command, tool.aptPackage)) return;
  }
  if (!existsSync(path.join(ROOT, 'dist', 'openstarryd.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does it for you)');
  const dir = t.testdir({});
  await exec(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts', 'package', 'build.ts'), '--no-build', '--compression', 'gzip', '--out', dir], { cwd: ROOT, maxBuffer: 16 * 2 ** 20 });

  // lintian takes most of a minute per package: both run while the rest is checked.
  const lint = Object.fromEntries(
    (['arm64', 'amd64'] as const).map((arch) => [
      arch,
      exec('lintian', ['--fail-on', 'error,warning', path.join(dir, `openstarry_${VERSION}_${arch}.deb`)], { maxBuffer: 16 * 2 ** 20 }).then(
        (r) => ({ ok: true, output: r.stdout }),
        (err: { stdout?: string; message: string }) => ({ ok: false, output: err.stdout || err.message }),
      ),
    ]),
  );

  for (const arch of [ARCHES.arm64, ARCHES.amd64]) {
    await t.test(arch.deb, async (t) => {
      const deb = path.join(dir, `openstarry_${VERSION}_${arch.deb}.deb`);
      const field = async (name: string) => (await out('dpkg-deb', ['-f', deb, name])).trim();
      t.equal(await field('Package'), 'openstarry');
      t.equal(await field('Version'), VERSION);
      t.equal(await field('Architecture'), arch.deb);
      // Node 22 needs glibc 2.28; the addons are pinned below it (glibc-compat.h), so Ubuntu 20.04 (2.31) and
      // Raspberry Pi OS bookworm (2.36) qualify. No nodejs: the package brings its own runtime.
      t.equal(await field('Depends'), `libc6 (>= 2.28), libgcc-s1 (>= ${arch.deb === 'arm64' ? '4.2' : '3.4'}), libstdc++6 (>= 5.2), adduser`);
      t.ok(Number(await field('Installed-Size')) > 50_000, 'Installed-Size in KiB');
      t.equal((await out('dpkg-deb', ['-I', deb, 'conffiles'])).trim(), '/etc/openstarry/openstarry.yaml');

      const listing = (await out('dpkg-deb', ['-c', deb])).trim().split('\n');
      const entries = new Map(listing.map((line) => {
        const [mode, owner, , , , ...rest] = line.split(/\s+/);
        return [rest.join(' ').replace(/^\.\//, '/').replace(/\/$/, ''), { mode: mode!, owner: owner! }] as const;
      }));
      const app = '/usr/lib/openstarry';
      const cpu = prebuildFolder(arch);
      for (const expected of [
        `${app}/node/bin/node`, `${app}/node/LICENSE`, `${app}/package.json`,
        `${app}/dist/openstarryd.js`, `${app}/dist/openstarry.js`, `${app}/dist/agent-host.cjs`, `${app}/dist/agent-process.mjs`,
        `${app}/dist/wasm-host.js`, `${app}/dist/wasm-vm-runtime.js`, `${app}/dist/agent-container.js`, `${app}/dist/sim-frames`,
        `${app}/agents/master/agent.json`, `${app}/board-profiles/rpi-4b.json`, `${app}/board-profiles/sim.json`,
        `${app}/node_modules/i2c-bus/build/Release/i2c.node`, `${app}/node_modules/epoll/build/Release/epoll.node`,
        `${app}/node_modules/@serialport/bindings-cpp/prebuilds/${cpu}`, `${app}/node_modules/esbuild/lib/main.js`,
        `${app}/node_modules/@esbuild/linux-${arch.npmCpu}/bin/esbuild`, `${app}/node_modules/dockerode/package.json`,
        `${app}/node_modules/@jitl/quickjs-wasmfile-release-sync/dist/emscripten-module.wasm`,
        '/usr/bin/openstarryd', '/usr/bin/openstarry', '/usr/lib/systemd/system/openstarryd.service', '/etc/openstarry/openstarry.yaml',
        '/usr/share/doc/openstarry/copyright', '/usr/share/doc/openstarry/changelog.gz', '/usr/share/man/man8/openstarryd.8.gz',
        '/usr/share/man/man1/openstarry.1.gz', '/usr/share/lintian/overrides/openstarry',
      ]) t.ok(entries.has(expected), expected);
      for (const repoAddon of existsSync(path.join(ROOT, 'native')) ? readdirSync(path.join(ROOT, 'native')) : []) {
        if (!existsSync(path.join(ROOT, 'native', repoAddon, 'binding.gyp'))) continue;
        t.ok([...entries.keys()].some((p) => p.startsWith(`${app}/native/${repoAddon}/build/Release/`) && p.endsWith('.node')), `native/${repoAddon} built for ${arch.deb}`);
      }
      const paths = [...entries.keys()];
      t.same(paths.filter((p) => p.startsWith(`${app}/node_modules/`) && /\.(ts|md|map|cc|h|gyp)$/.test(p) && !/\/(licen[cs]e|copying|notice|authors)[^/]*$/i.test(p)), [], 'no sources, docs or maps in node_modules (licenses and authors kept)');
      t.same(paths.filter((p) => /\/prebuilds\/[^/]+$/.test(p) && !p.endsWith(`/${cpu}`)), [], 'only this architecture\'s prebuilds');
      t.same(paths.filter((p) => /musl/.test(p)), [], 'only glibc prebuilds');
      for (const bundled of ['serialport', 'onoff', 'node-webcam', 'nan', 'node-addon-api', 'cpu-features', 'typescript', 'tap']) t.notOk(entries.has(`${app}/node_modules/${bundled}`), `${bundled} is not shipped`);
      t.notOk(paths.some((p) => p.startsWith(`${app}/dist/deb`) || p.startsWith(`${app}/dist/package-cache`)), 'the packager\'s own outputs are not in dist/');
      t.notOk(paths.some((p) => p.endsWith('.test.ts')), 'no test files');
      const firstBoot = existsSync(path.join(ROOT, 'scripts', 'openstarry-first-boot')) ? [`${app}/openstarry-first-boot`] : [];
      for (const exe of ['/usr/bin/openstarryd', '/usr/bin/openstarry', `${app}/node/bin/node`, ...firstBoot]) t.match(entries.get(exe), { mode: '-rwxr-xr-x', owner: 'root/root' }, exe);
      t.match(entries.get('/etc/openstarry/openstarry.yaml'), { mode: '-rw-r--r--', owner: 'root/root' });

      // Every ELF file: this architecture, stripped.
      const tree = path.join(t.testdir({}), 'x');
      await exec('dpkg-deb', ['-x', deb, tree]);
      const binaries = paths.filter((p) => p.endsWith('.node') || p.endsWith('/bin/node') || p.endsWith('/bin/esbuild'));
      t.ok(binaries.length >= 5, `${binaries.length} binaries`);
      for (const file of binaries) t.match(await readElf(path.join(tree, file)), { machine: arch.elfMachine, stripped: true }, file);

      // Maintainer scripts: POSIX sh (dash, Debian's /bin/sh), syntax-checked.
      const control = path.join(tree, 'DEBIAN');
      await exec('dpkg-deb', ['-e', deb, control]);
      for (const script of ['postinst', 'prerm', 'postrm']) {
        await t.resolves(exec('dash', ['-n', path.join(control, script)]), `${script} parses with dash`);
      }
      t.match(await field('Description'), new RegExp(`Node\\.js ${NODE_VERSION.replaceAll('.', '\\.')} runtime`));

      const result = await lint[arch.deb]!;
      t.ok(result.ok, `lintian ${arch.deb}: no error or warning\n${result.output}`);
      t.same(result.output.split('\n').filter((l) => /^[EW]: /.test(l)), [], 'no E: or W: line');
    });
  }
});

t.test('the daemon bundle imports nothing from node_modules at start-up (boot loads no npm package)', async (t) => {
  const bundle = path.join(ROOT, 'dist', 'openstarryd.js');
  if (!existsSync(bundle)) throw new Error('dist/ is missing: run `npm run build` (npm test does it for you)');
  // The bundle and the chunks it imports statically (scripts/build.mjs splits the daemon and the CLI).
  const { externals } = await staticClosure(bundle);
  t.ok(externals.length > 0, 'found the bundle\'s static imports');
  t.same(externals.filter((s) => !s.startsWith('node:') && !['stream', 'util', 'events', 'buffer', 'crypto', 'fs', 'path', 'os'].includes(s)), [], 'only Node built-ins');
});
