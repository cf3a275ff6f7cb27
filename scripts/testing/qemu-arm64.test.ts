// The binfmt_misc registration of the arm64 test, against a stand-in binfmt_misc folder (a `register` file, as the
// kernel's has): it registers under its own name, never touches an entry the machine already had, replaces what
// a killed run left, and undoes exactly what it did. The real kernel interface is exercised by
// scripts/package/arm64.test.ts.
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { BINFMT_NAME, registerArm64Binfmt } from './qemu-arm64.ts';
import type { Arm64Paths } from './qemu-arm64.ts';

const DEBIAN_LINE = ':qemu-aarch64:M::\\x7f\\x45\\x4c\\x46\\x02\\x01\\x01:\\xff\\xff\\xff\\xff\\xff\\xff\\xff:/usr/libexec/qemu-binfmt/aarch64-binfmt-P:OPF';

function fixture(t: Test): { paths: Arm64Paths; sysroot: string; dir: string } {
  const dir = t.testdir({
    binfmt: { register: '', 'qemu-aarch64': 'enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\n', status: 'enabled' },
    'qemu-aarch64.conf': `# from qemu-user-static\n${DEBIAN_LINE}\n`,
    etc: {},
    cache: { 'openstarry-arm64-sysroot': { sysroot: { lib: { 'ld-linux-aarch64.so.1': '' } } } },
  });
  return {
    dir,
    sysroot: path.join(dir, 'cache', 'openstarry-arm64-sysroot', 'sysroot'),
    paths: { binfmtDir: path.join(dir, 'binfmt'), binfmtConf: path.join(dir, 'qemu-aarch64.conf'), qemuPrefixLink: path.join(dir, 'etc', 'qemu-binfmt', 'aarch64') },
  };
}

t.test('registers its own entry and links the sysroot; release undoes both and leaves the machine its own entry', async (t) => {
  const { paths, sysroot } = fixture(t);
  const reg = await registerArm64Binfmt(sysroot, paths);
  t.equal(readFileSync(path.join(paths.binfmtDir, 'register'), 'utf8'), DEBIAN_LINE.replace(':qemu-aarch64:', `:${BINFMT_NAME}:`), "Debian's magic and interpreter under our name");
  t.equal(readlinkSync(paths.qemuPrefixLink), sysroot, 'aarch64-binfmt-P finds the sysroot');
  t.same(reg.actions, [`registered ${BINFMT_NAME}`, `linked ${paths.qemuPrefixLink} -> ${sysroot}`]);
  await reg.release();
  await reg.release();
  t.equal(readFileSync(path.join(paths.binfmtDir, BINFMT_NAME), 'utf8'), '-1', 'our entry unregistered');
  t.match(readFileSync(path.join(paths.binfmtDir, 'qemu-aarch64'), 'utf8'), /^enabled/, "the machine's own qemu-aarch64 entry untouched");
  t.notOk(existsSync(paths.qemuPrefixLink), 'the link is gone');
  t.notOk(existsSync(path.dirname(paths.qemuPrefixLink)), 'and the folder it created for it');
});

t.test('what a killed run left (its entry, its link) is replaced and then removed', async (t) => {
  const { paths, sysroot, dir } = fixture(t);
  writeFileSync(path.join(paths.binfmtDir, BINFMT_NAME), 'enabled\n');
  mkdirSync(path.dirname(paths.qemuPrefixLink));
  symlinkSync(path.join(dir, 'old', 'openstarry-arm64-sysroot', 'sysroot'), paths.qemuPrefixLink);
  const reg = await registerArm64Binfmt(sysroot, paths);
  t.same(reg.actions, [`removed a stale ${BINFMT_NAME}`, `registered ${BINFMT_NAME}`, `removed a stale ${paths.qemuPrefixLink}`, `linked ${paths.qemuPrefixLink} -> ${sysroot}`]);
  t.equal(readlinkSync(paths.qemuPrefixLink), sysroot);
  await reg.release();
  t.throws(() => lstatSync(paths.qemuPrefixLink), { code: 'ENOENT' });
  t.ok(existsSync(path.dirname(paths.qemuPrefixLink)), 'a folder that was already there stays');
});

t.test("the machine's own /etc/qemu-binfmt/aarch64 is used and kept; one without a loader stops the registration", async (t) => {
  const { paths, sysroot } = fixture(t);
  mkdirSync(path.join(paths.qemuPrefixLink, 'lib'), { recursive: true });
  writeFileSync(path.join(paths.qemuPrefixLink, 'lib', 'ld-linux-aarch64.so.1'), '');
  const reg = await registerArm64Binfmt(sysroot, paths);
  t.match(reg.actions, [`registered ${BINFMT_NAME}`, `using the machine's own ${paths.qemuPrefixLink}`]);
  await reg.release();
  t.ok(existsSync(path.join(paths.qemuPrefixLink, 'lib', 'ld-linux-aarch64.so.1')), 'left as it was');

  const other = fixture(t);
  mkdirSync(other.paths.qemuPrefixLink, { recursive: true });
  await t.rejects(registerArm64Binfmt(other.sysroot, other.paths), { message: `${other.paths.qemuPrefixLink} exists but holds no lib/ld-linux-aarch64.so.1: point it at an arm64 sysroot or remove it` });
  t.equal(readFileSync(path.join(other.paths.binfmtDir, BINFMT_NAME), 'utf8'), '-1', 'the entry it had registered is removed again');
});

t.test('a missing qemu-user-static configuration is named with its package', async (t) => {
  const { paths, sysroot } = fixture(t);
  await t.rejects(registerArm64Binfmt(sysroot, { ...paths, binfmtConf: path.join(paths.binfmtDir, 'nope.conf') }), { message: /^reading .*nope\.conf \(apt-get install qemu-user-static\) failed/ });
});
