// The first-boot script (scripts/openstarry-first-boot, run by the unit as ExecStartPre=+ as root) run for real on
// temp folders with its env overrides, as throwaway user and group, and on a real FAT image through fusefat.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, openSync, closeSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { CLI, requireBuild, tempDir } from '../runtime/e2e/harness.ts';
import type { Account } from './testing/throwaway-accounts.ts';
import { requireAccounts, throwawayGroup, throwawayUser } from './testing/throwaway-accounts.ts';
import { requireTool } from './testing/system-deps.ts';

const SCRIPT = path.join(import.meta.dirname, 'openstarry-first-boot');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the script with /bin/sh (dash on Debian: POSIX sh, no bashisms) and only the given environment. */
function firstBoot(env: Record<string, string>, stderrFile?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const fd = stderrFile === undefined ? 'pipe' : openSync(stderrFile, 'w');
    const child = spawn('/bin/sh', [SCRIPT], { env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...env }, stdio: ['ignore', 'pipe', fd] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      if (typeof fd === 'number') closeSync(fd);
      resolve({ code: code ?? 1, stdout, stderr: stderrFile === undefined ? stderr : readFileSync(stderrFile, 'utf8') });
    });
  });
}

const CERT = '-----BEGIN CERTIFICATE-----\nMIIB-ca-certificate\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nSECRET-KEY-MATERIAL-4242\n-----END PRIVATE KEY-----\n';
const CONFIG = 'deviceId: greenhouse-1\nlog:\n  level: debug\nmqtt:\n  url: mqtts://broker.example:8883\n  tls: { ca: ./ca.pem, cert: ./board.crt, key: ./board.key }\n  username: greenhouse-1\n  passwordFile: ./mqtt.pass\n';

/** What a laptop writes onto the card. */
function cardFiles(): Record<string, string> {
  return { 'openstarry.yaml': CONFIG, 'ca.pem': CERT, 'board.crt': CERT, 'board.key': KEY, 'bundle.pem': `${CERT}${KEY}`, 'mqtt.pass': 'SECRET-PASSWORD-4242\n', '._board.key': 'mac metadata', '.DS_Store': 'mac' };
}

function writeFiles(dir: string, files: Record<string, string>): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
}

interface Layout {
  top: string;
  source: string;
  etc: string;
  env: Record<string, string>;
}

function layout(t: Test, user: Account | undefined, group: Account | undefined): Layout {
  const top = tempDir(t);
  const source = path.join(top, 'boot', 'firmware', 'openstarry');
  const etc = path.join(top, 'etc', 'openstarry');
  const env: Record<string, string> = { OPENSTARRY_FIRST_BOOT_DIR: source, OPENSTARRY_ETC_DIR: etc };
  if (user) env.OPENSTARRY_USER = user.name;
  if (group) env.OPENSTARRY_GROUP = group.name;
  return { top, source, etc, env };
}

t.test('the script is POSIX sh (shellcheck)', async (t) => {
  if (!requireTool(t, 'shellcheck', 'shellcheck')) return;
  t.equal(execFileSync('shellcheck', ['--shell=sh', '--severity=style', SCRIPT], { encoding: 'utf8' }), '', 'no finding');
});

t.test('nothing there: exit 0, not a word (it runs before every start)', async (t) => {
  const l = layout(t, undefined, undefined);
  t.same(await firstBoot(l.env), { code: 0, stdout: '', stderr: '' }, 'no folder');
  mkdirSync(l.source, { recursive: true });
  t.same(await firstBoot(l.env), { code: 0, stdout: '', stderr: '' }, 'an empty folder');
  t.notOk(existsSync(l.source), 'an empty folder is removed');
  t.notOk(existsSync(l.etc), 'nothing created in /etc');
});

t.test('files are moved: modes, owners, atomic, previous config kept, secrets gone from the source, idempotent', async (t) => {
  if (!requireAccounts(t)) return;
  const group = throwawayGroup(t);
  const user = throwawayUser(t, [group.name]);
  const l = layout(t, user, group);
  writeFiles(l.source, cardFiles());
  writeFiles(l.etc, { 'openstarry.yaml': '# the packaged conffile: every line commented\n' });

  const run = await firstBoot(l.env);
  t.equal(run.code, 0);
  t.equal(run.stdout, '');
  t.notMatch(run.stderr, /<\d>/, 'no priority prefixes when stderr is not the journal');
  t.match(run.stderr, `openstarry-first-boot: previous ${l.etc}/openstarry.yaml kept as ${l.etc}/openstarry.yaml.before-first-boot`);
  t.match(run.stderr, `openstarry-first-boot: first boot: 6 file(s) taken from ${l.source} into ${l.etc}`);

  const expect: Record<string, { mode: number; uid: number; text: string }> = {
    'openstarry.yaml': { mode: 0o640, uid: 0, text: CONFIG },
    'ca.pem': { mode: 0o640, uid: 0, text: CERT },
    'board.crt': { mode: 0o640, uid: 0, text: CERT },
    'board.key': { mode: 0o600, uid: user.id, text: KEY },
    'bundle.pem': { mode: 0o600, uid: user.id, text: `${CERT}${KEY}` },
    'mqtt.pass': { mode: 0o600, uid: user.id, text: 'SECRET-PASSWORD-4242\n' },
  };
  for (const [name, want] of Object.entries(expect)) {
    const st = statSync(path.join(l.etc, name));
    t.equal(st.mode & 0o777, want.mode, `${name} mode ${want.mode.toString(8)}`);
    t.equal(st.uid, want.uid, `${name} owner`);
    t.equal(st.gid, group.id, `${name} group`);
    t.equal(readFileSync(path.join(l.etc, name), 'utf8'), want.text, `${name} content`);
    t.match(run.stderr, `${name} moved to ${l.etc}/${name} (0${want.mode.toString(8)} ${want.uid === 0 ? 'root' : user.name}:${group.name})`);
  }
  t.equal(readFileSync(path.join(l.etc, 'openstarry.yaml.before-first-boot'), 'utf8'), '# the packaged conffile: every line commented\n', 'the previous config kept');
  t.same(readdirSync(l.etc).sort(), [...Object.keys(expect), 'openstarry.yaml.before-first-boot'].sort(), 'no temporary files left, no macOS metadata copied');
  t.notOk(existsSync(l.source), 'the emptied folder is removed (macOS metadata deleted with it)');

  const before = Object.fromEntries(readdirSync(l.etc).map((n) => [n, statSync(path.join(l.etc, n)).mtimeMs]));
  t.same(await firstBoot(l.env), { code: 0, stdout: '', stderr: '' }, 'the second start does nothing and says nothing');
  t.same(Object.fromEntries(readdirSync(l.etc).map((n) => [n, statSync(path.join(l.etc, n)).mtimeMs])), before, 'nothing rewritten');

  // Flashing again with the same config: the same content is not "a previous config" to keep.
  rmSync(path.join(l.etc, 'openstarry.yaml.before-first-boot'));
  writeFiles(l.source, { 'openstarry.yaml': CONFIG });
  const again = await firstBoot(l.env);
  t.notMatch(again.stderr, /kept as/);
  t.notOk(existsSync(path.join(l.etc, 'openstarry.yaml.before-first-boot')));

  // A config carrying a password itself is a secret too.
  writeFiles(l.source, { 'openstarry.yaml': 'mqtt:\n  url: mqtts://u:hunter2@broker.example:8883\n' });
  await firstBoot(l.env);
  const st = statSync(path.join(l.etc, 'openstarry.yaml'));
  t.same([st.mode & 0o777, st.uid], [0o600, user.id], 'user:password@ in a URL: 0600, the daemon\'s user');
});

t.test('refused: symbolic links, folders, other names, oversized files; the rest is taken, exit 0', async (t) => {
  if (!requireAccounts(t)) return;
  const group = throwawayGroup(t);
  const user = throwawayUser(t, [group.name]);
  const l = layout(t, user, group);
  writeFiles(l.source, { 'ca.pem': CERT, 'notes.txt': 'hello', 'my config.yaml': 'a: 1\n', 'huge.pem': 'x'.repeat(1024 * 1024 + 1) });
  const outside = path.join(path.dirname(l.source), 'outside.key');
  writeFileSync(outside, KEY);
  symlinkSync(outside, path.join(l.source, 'link.key'));
  mkdirSync(path.join(l.source, 'certs'));
  writeFileSync(path.join(l.source, 'certs', 'x.pem'), CERT);

  const run = await firstBoot(l.env);
  t.equal(run.code, 0, 'never fails the service start');
  t.match(run.stderr, `${l.source}/link.key: a symbolic link, refused`);
  t.match(run.stderr, `${l.source}/certs: a folder, refused`);
  t.match(run.stderr, `${l.source}/notes.txt: refused: not a name openstarry takes`);
  t.match(run.stderr, `${l.source}/my config.yaml: refused: not a name openstarry takes`);
  t.match(run.stderr, `${l.source}/huge.pem: refused: larger than 1048576 bytes`);
  t.match(run.stderr, `${l.source}: 5 file(s) left in place`);
  t.same(readdirSync(l.etc), ['ca.pem'], 'only the acceptable file taken; the link not followed');
  t.same(readdirSync(l.source).sort(), ['certs', 'huge.pem', 'link.key', 'my config.yaml', 'notes.txt'], 'refused files stay where they were');
  t.equal(readFileSync(outside, 'utf8'), KEY, 'the link\'s target untouched');
});

t.test('a zeroed leftover of an interrupted wipe (power cut before the unlink reached the card) never replaces a good file', async (t) => {
  if (!requireAccounts(t)) return;
  const group = throwawayGroup(t);
  const user = throwawayUser(t, [group.name]);
  const l = layout(t, user, group);
  writeFiles(l.etc, { 'openstarry.yaml': CONFIG, 'board.key': KEY });
  writeFiles(l.source, { 'openstarry.yaml': '\0'.repeat(CONFIG.length), 'board.key': `${KEY.slice(0, 20)}${'\0'.repeat(KEY.length - 20)}` });
  const run = await firstBoot(l.env);
  t.equal(run.code, 0);
  t.match(run.stderr, `${l.source}/openstarry.yaml: holds NUL bytes (what an interrupted wipe leaves after a power cut): removed`);
  t.match(run.stderr, `${l.source}/board.key: holds NUL bytes`);
  t.equal(readFileSync(path.join(l.etc, 'openstarry.yaml'), 'utf8'), CONFIG, 'the good config stays');
  t.equal(readFileSync(path.join(l.etc, 'board.key'), 'utf8'), KEY, 'the good key stays');
  t.notOk(existsSync(path.join(l.etc, 'openstarry.yaml.before-first-boot')), 'nothing was replaced, so nothing kept aside');
  t.notOk(existsSync(l.source), 'the leftovers are removed and the folder with them');
});

t.test('a config holding a password in any YAML spelling is a secret (0600); one naming a passwordFile is not', async (t) => {
  if (!requireAccounts(t)) return;
  const group = throwawayGroup(t);
  const user = throwawayUser(t, [group.name]);
  const l = layout(t, user, group);
  writeFiles(l.source, {
    'flow.yaml': 'mqtt: { url: mqtt://b:1883, password: hunter2 }\n',
    'quoted.yaml': '{"mqtt": {"password": "hunter2"}}\n',
    'url.yml': 'mqtt:\n  url: mqtt://board:hunter2@b:1883\n',
    'openstarry.yaml': CONFIG,
  });
  const run = await firstBoot(l.env);
  t.equal(run.code, 0);
  for (const name of ['flow.yaml', 'quoted.yaml', 'url.yml']) t.equal(statSync(path.join(l.etc, name)).mode & 0o777, 0o600, `${name}: 0600`);
  t.equal(statSync(path.join(l.etc, 'openstarry.yaml')).mode & 0o777, 0o640, 'passwordFile only names a file: 0640');
});

t.test('a missing group or user: everything left in place, one error line, exit 0', async (t) => {
  const l = layout(t, { name: 'root', id: 0 }, { name: 'no-such-group-ost', id: -1 });
  writeFiles(l.source, { 'ca.pem': CERT });
  const run = await firstBoot(l.env);
  t.equal(run.code, 0);
  t.equal(run.stderr, `openstarry-first-boot: user root or group no-such-group-ost does not exist (is the openstarry package installed?): ${l.source} left as it is\n`);
  t.ok(existsSync(path.join(l.source, 'ca.pem')));
  t.notOk(existsSync(l.etc));
});

t.test('with stderr on the journal (JOURNAL_STREAM), every line has its sd-daemon(3) priority', async (t) => {
  if (!requireAccounts(t)) return;
  const group = throwawayGroup(t);
  const user = throwawayUser(t, [group.name]);
  const l = layout(t, user, group);
  writeFiles(l.source, { 'ca.pem': CERT, 'notes.txt': 'x' });
  const log = path.join(l.top, 'journal.txt');
  writeFileSync(log, '');
  const st = statSync(log);
  const run = await firstBoot({ ...l.env, JOURNAL_STREAM: `${st.dev}:${st.ino}` }, log);
  t.match(run.stderr, /^<6>openstarry-first-boot: ca\.pem moved to /m);
  t.match(run.stderr, /^<4>openstarry-first-boot: .*notes\.txt: refused/m);
  t.notMatch(run.stderr, /^openstarry-first-boot/m, 'no line without its priority');
});

t.test('the daemon takes the moved config: `openstarry validate` on it', async (t) => {
  if (!requireAccounts(t)) return;
  requireBuild();
  const group = throwawayGroup(t);
  const user = throwawayUser(t, [group.name]);
  const l = layout(t, user, group);
  writeFiles(l.source, { 'openstarry.yaml': CONFIG, 'ca.pem': CERT, 'board.crt': CERT, 'board.key': KEY, 'mqtt.pass': 'pw\n' });
  await firstBoot(l.env);
  const out = execFileSync(process.execPath, [CLI, 'validate', path.join(l.etc, 'openstarry.yaml')], { encoding: 'utf8' });
  t.equal(out, `${l.etc}/openstarry.yaml: ok (daemon config)\n`);
});

t.test('on a real FAT file system (fusefat): the secrets are not left in the image', async (t) => {
  if (!requireAccounts(t) || !requireTool(t, 'mkfs.vfat', 'dosfstools') || !requireTool(t, 'fusefat', 'fusefat')) return;
  if (!existsSync('/dev/fuse')) {
    const message = 'no /dev/fuse in this container';
    if (process.env.OPENSTARRY_REQUIRE_SYSTEM_DEPS === '1') t.fail(message);
    else t.pass(`SKIP: ${message}`, { skip: message });
    return;
  }
  const group = throwawayGroup(t);
  const user = throwawayUser(t, [group.name]);
  const l = layout(t, user, group);
  const image = path.join(l.top, 'card.img');
  const mountpoint = path.dirname(l.source); // <top>/boot/firmware, the FAT partition
  execFileSync('truncate', ['-s', '8M', image]);
  execFileSync('mkfs.vfat', [image], { stdio: 'ignore' });
  mkdirSync(mountpoint, { recursive: true });
  const mount = () => execFileSync('fusefat', ['-o', 'rw+', image, mountpoint], { stdio: 'ignore' });
  const unmount = () => execFileSync('umount', [mountpoint]);
  mount();
  let mounted = true;
  t.teardown(() => {
    if (mounted) unmount();
  });
  writeFiles(l.source, { 'openstarry.yaml': CONFIG, 'board.key': KEY, 'mqtt.pass': 'SECRET-PASSWORD-4242\n', 'ca.pem': CERT });
  // A control: a file removed the ordinary way leaves its bytes in the image, so the check below can see them.
  writeFileSync(path.join(mountpoint, 'plain.key'), 'CONTROL-SECRET-7777\n');
  unmount();
  mount();
  rmSync(path.join(mountpoint, 'plain.key'));

  const run = await firstBoot(l.env);
  t.equal(run.code, 0, run.stderr);
  t.match(run.stderr, 'first boot: 4 file(s) taken');
  t.equal(readFileSync(path.join(l.etc, 'board.key'), 'utf8'), KEY);
  t.notOk(existsSync(l.source), 'the folder is gone from the FAT partition');
  unmount();
  mounted = false;
  const bytes = readFileSync(image);
  t.ok(bytes.includes('CONTROL-SECRET-7777'), 'control: rm alone leaves the data in the image');
  t.notOk(bytes.includes('SECRET-KEY-MATERIAL-4242'), 'the private key is not in the image');
  t.notOk(bytes.includes('SECRET-PASSWORD-4242'), 'the password is not in the image');
  t.notOk(bytes.includes('greenhouse-1'), 'nor the config');
  t.ok(lstatSync(image).isFile());
});
