// The packager's command line: defaults, repeatable --arch, and a clear error for every bad value.
import t from 'tap';
import { parseOptions } from './options.ts';
import { checkTools, requiredTools } from './tools.ts';
import { ARCHES } from './arch.ts';

const ROOT = '/repo';

t.test('defaults: both architectures into dist/deb, built first, xz, cache in dist/package-cache', async (t) => {
  t.same(parseOptions([], ROOT), { arches: ['arm64', 'amd64'], outDir: '/repo/dist/deb', version: undefined, build: true, compression: 'xz', cacheDir: '/repo/dist/package-cache', help: false });
});

t.test('--arch is repeatable and deduplicated; the other options', async (t) => {
  const o = parseOptions(['--arch', 'amd64', '--arch', 'amd64', '--out', '/tmp/x', '--version', '0.1.1', '--no-build', '--compression', 'none', '--cache', '/tmp/c'], ROOT);
  t.same(o, { arches: ['amd64'], outDir: '/tmp/x', version: '0.1.1', build: false, compression: 'none', cacheDir: '/tmp/c', help: false });
});

t.test('bad values are errors that say what is allowed', async (t) => {
  t.throws(() => parseOptions(['--arch', 'armhf'], ROOT), /--arch armhf: must be arm64 or amd64/);
  t.throws(() => parseOptions(['--version', 'v1'], ROOT), /--version v1: not a Debian version/);
  t.throws(() => parseOptions(['--compression', 'zstd'], ROOT), /--compression zstd: must be xz, gzip or none/);
  t.throws(() => parseOptions(['--archs', 'arm64'], ROOT), /Unknown option '--archs'/);
});

t.test('tools: the cross toolchain for a foreign architecture, the host compiler for its own', async (t) => {
  const tools = requiredTools([ARCHES.arm64, ARCHES.amd64], 'amd64');
  const pkg = (command: string) => tools.find((x) => x.command === command)?.aptPackage;
  t.equal(pkg('aarch64-linux-gnu-g++'), 'g++-aarch64-linux-gnu');
  t.equal(pkg('aarch64-linux-gnu-strip'), 'binutils-aarch64-linux-gnu');
  t.equal(pkg('x86_64-linux-gnu-g++'), 'g++');
  t.equal(pkg('dpkg-deb'), 'dpkg');
  t.equal(requiredTools([ARCHES.amd64], 'arm64').find((x) => x.command === 'x86_64-linux-gnu-g++')?.aptPackage, 'g++-x86-64-linux-gnu');
});

t.test('a missing tool stops the build with one line naming the apt package', async (t) => {
  const tools = requiredTools([ARCHES.arm64], 'amd64');
  t.throws(() => checkTools(tools, (c) => c !== 'aarch64-linux-gnu-g++'), { message: 'aarch64-linux-gnu-g++ is missing (it compiles the arm64 native addons): apt-get install g++-aarch64-linux-gnu' });
  t.doesNotThrow(() => checkTools(tools, () => true));
});
