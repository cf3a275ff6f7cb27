// The systemd unit (scripts/openstarryd.service), checked with systemd's own tools: what the package layout fixes
// (user, paths, Environment=), `systemd-analyze verify` clean against a stub root holding the files it names,
// `systemd-analyze security --offline=true` below 5.0, and the real daemon booting and running process and wasm
// agents under the unit's system call filter and address families (applied with libseccomp, as systemd does).
import { execFile, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { requirePart, requireTool } from './testing/system-deps.ts';
import { DAEMON, requireBuild, runCli, tempDir } from '../runtime/e2e/harness.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const UNIT_FILE = path.join(ROOT, 'scripts', 'openstarryd.service');
const MAN_PAGE = path.join(ROOT, 'scripts', 'package', 'debian', 'openstarryd.8');
const unitText = readFileSync(UNIT_FILE, 'utf8');
const run = promisify(execFile);

/** [section, key, value] for every assignment, in order (keys repeat: Environment=, DeviceAllow=...). */
function parseUnit(text: string): [string, string, string][] {
  const out: [string, string, string][] = [];
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) section = header[1] as string;
    else {
      const eq = line.indexOf('=');
      out.push([section, line.slice(0, eq), line.slice(eq + 1)]);
    }
  }
  return out;
}
const entries = parseUnit(unitText);
const values = (key: string, section = 'Service') => entries.filter(([s, k]) => s === section && k === key).map(([, , v]) => v);
const value = (key: string, section = 'Service') => values(key, section).at(-1);

t.test('the unit follows the package layout', async (t) => {
  t.equal(value('User'), 'openstarry');
  t.equal(value('Group'), 'openstarry');
  t.equal(value('Type'), 'notify');
  t.equal(value('NotifyAccess'), 'main', 'the daemon notifies from its own pid (the sd_notify addon)');
  t.equal(value('WatchdogSec'), '30s');
  t.equal(value('ExecStart'), '/usr/bin/openstarryd');
  t.equal(value('ExecStartPre'), '+/usr/lib/openstarry/openstarry-first-boot');
  t.equal(value('ExecReload'), '/bin/kill -HUP $MAINPID');
  // The team's package layout: the same three values the /usr/bin/openstarryd wrapper defaults.
  t.same(Object.fromEntries(values('Environment').map((e) => e.split('=', 2) as [string, string])), {
    OPENSTARRY_HOME: '/var/lib/openstarry',
    OPENSTARRY_SOCKET: '/run/openstarry/openstarryd.sock',
    OPENSTARRY_CONFIG: '/etc/openstarry/openstarry.yaml',
  });
  t.equal(value('RuntimeDirectory'), 'openstarry');
  t.equal(value('RuntimeDirectoryMode'), '0750');
  t.equal(value('StateDirectory'), 'openstarry');
  t.equal(value('StateDirectoryMode'), '0750');
  t.equal(value('Documentation', 'Unit'), 'man:openstarryd(8)');
  t.ok(existsSync(MAN_PAGE), 'the man page it names is in the repository');
  t.notMatch(unitText, /\/opt\b|install\.sh|EnvironmentFile/, 'no stale paths');
  t.equal(value('WantedBy', 'Install'), 'multi-user.target');
});

t.test('the sandbox keeps what the daemon needs and says why each ruled-out setting is off', async (t) => {
  for (const ruledOut of ['MemoryDenyWriteExecute', 'PrivateDevices', 'ProtectKernelTunables', 'PrivateUsers', 'ProcSubset']) {
    t.equal(value(ruledOut), undefined, `${ruledOut} is not set`);
    t.match(unitText, new RegExp(`^#\\s+${ruledOut}\\b.+`, 'm'), `a comment says why ${ruledOut} is off`);
  }
  t.equal(value('NoExecPaths'), undefined, 'the process driver execs the bundled node, the wasm driver esbuild');
  t.same(value('RestrictAddressFamilies')?.split(/\s+/).sort(), ['AF_INET', 'AF_INET6', 'AF_UNIX']);
  t.equal(value('DevicePolicy'), 'closed');
  for (const cls of ['gpiochip', 'i2c', 'spi', 'ttyS', 'ttyAMA', 'ttyUSB', 'ttyACM', 'video4linux']) t.ok(values('DeviceAllow').includes(`char-${cls} rw`), `char-${cls}`);
  t.match(unitText, /agents\s+(#\s+)?never get \/dev/, 'the unit says agents never get /dev');
});

t.test('systemd-analyze verify: clean against a root holding every file the unit names', async (t) => {
  if (!requireTool(t, 'systemd-analyze', 'systemd') || !requireTool(t, 'man', 'man-db')) return;
  const root = t.testdir({});
  // The host's units (sysinit.target, network-online.target...), then ours where the package installs it.
  const hostUnits = ['/usr/lib/systemd/system', '/lib/systemd/system'].find((d) => existsSync(path.join(d, 'sysinit.target')));
  if (!hostUnits) throw new Error('no systemd unit directory with sysinit.target on this machine');
  cpSync(hostUnits, path.join(root, 'usr/lib/systemd/system'), { recursive: true, verbatimSymlinks: true });
  copyFileSync(UNIT_FILE, path.join(root, 'usr/lib/systemd/system/openstarryd.service'));
  // What the package installs, as stubs (their contents are not the unit's business) ...
  for (const exe of ['/usr/bin/openstarryd', '/usr/lib/openstarry/openstarry-first-boot']) {
    mkdirSync(path.join(root, path.dirname(exe)), { recursive: true });
    writeFileSync(path.join(root, exe), '#!/bin/sh\n');
    chmodSync(path.join(root, exe), 0o755);
  }
  // ... what the system provides, the real file (ExecReload's kill, from procps) ...
  mkdirSync(path.join(root, 'bin'), { recursive: true });
  copyFileSync('/bin/kill', path.join(root, 'bin/kill'));
  // ... and the man page the unit's Documentation= names, found by man(1) through MANPATH.
  mkdirSync(path.join(root, 'usr/share/man/man8'), { recursive: true });
  copyFileSync(MAN_PAGE, path.join(root, 'usr/share/man/man8/openstarryd.8'));
  const result = await run('systemd-analyze', ['verify', `--root=${root}`, 'openstarryd.service'], { env: { ...process.env, MANPATH: path.join(root, 'usr/share/man') } }).then(
    (r) => ({ code: 0, out: `${r.stdout}${r.stderr}` }),
    (err: { code?: number; stdout?: string; stderr?: string }) => ({ code: err.code ?? 1, out: `${err.stdout ?? ''}${err.stderr ?? ''}` }),
  );
  t.same(result, { code: 0, out: '' }, 'no error and no warning');

  // The check is real: a missing executable and an unknown key are reported.
  writeFileSync(path.join(root, 'usr/lib/systemd/system/openstarryd.service'), unitText.replace('ExecStart=/usr/bin/openstarryd', 'ExecStart=/usr/bin/openstarryd-gone\nBogusKey=1'));
  const broken = await run('systemd-analyze', ['verify', `--root=${root}`, 'openstarryd.service'], { env: { ...process.env, MANPATH: path.join(root, 'usr/share/man') } }).then(
    () => ({ code: 0, out: '' }),
    (err: { code?: number; stdout?: string; stderr?: string }) => ({ code: err.code ?? 1, out: `${err.stdout ?? ''}${err.stderr ?? ''}` }),
  );
  t.not(broken.code, 0);
  t.match(broken.out, /openstarryd-gone is not executable/);
  t.match(broken.out, /Unknown key 'BogusKey'/);
});

t.test('systemd-analyze security --offline=true: exposure below 5.0 (systemd\'s "OK" band)', async (t) => {
  if (!requireTool(t, 'systemd-analyze', 'systemd')) return;
  const { stdout } = await run('systemd-analyze', ['security', '--offline=true', UNIT_FILE]);
  const score = /Overall exposure level for openstarryd\.service: ([\d.]+) (\w+)/.exec(stdout);
  t.ok(score, 'an overall score');
  const exposure = Number(score?.[1]);
  t.ok(exposure < 5.0, `exposure ${exposure} ${score?.[2]} is below 5.0`);
  t.comment(`exposure: ${exposure} ${score?.[2]}`);
  for (const item of ['User=/DynamicUser=', 'NoNewPrivileges=', 'ProtectSystem=', 'NotifyAccess=', 'CapabilityBoundingSet=~CAP_SYS_ADMIN']) {
    t.match(stdout, new RegExp(`✓ ${item.replace(/[.*+?^${}()|[\]\\=/~]/g, '\\$&')}`), `${item} passes`);
  }
});

// systemd applies SystemCallFilter= as a seccomp allow list (SystemCallErrorNumber= for the rest) and
// RestrictAddressFamilies= as a filter on socket()'s first argument. The same, with libseccomp through python3's
// ctypes, before exec'ing the daemon (a refused family answers EPERM here, EAFNOSUPPORT under systemd).
const SECCOMP_EXEC = String.raw`
import ctypes, os, sys
allow_file, families, deny_errno = sys.argv[1], [int(f) for f in sys.argv[2].split(",")], int(sys.argv[3])
lib = ctypes.CDLL("libseccomp.so.2")
class Cmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("a", ctypes.c_uint64), ("b", ctypes.c_uint64)]
lib.seccomp_init.restype = ctypes.c_void_p
lib.seccomp_init.argtypes = [ctypes.c_uint32]
lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint, ctypes.POINTER(Cmp)]
lib.seccomp_load.argtypes = [ctypes.c_void_p]
ALLOW, ERRNO = 0x7FFF0000, 0x00050000
ctx = lib.seccomp_init(ERRNO | deny_errno)
socket_nr = lib.seccomp_syscall_resolve_name(b"socket")
for name in open(allow_file).read().split():
    nr = lib.seccomp_syscall_resolve_name(name.encode())
    if nr < 0 or nr == socket_nr:
        continue
    lib.seccomp_rule_add_array(ctx, ALLOW, nr, 0, None)
for family in families:
    lib.seccomp_rule_add_array(ctx, ALLOW, socket_nr, 1, (Cmp * 1)(Cmp(0, 4, family, 0)))  # SCMP_CMP_EQ
if lib.seccomp_load(ctx) != 0:
    sys.exit("seccomp_load failed")
os.execv(sys.argv[4], sys.argv[4:])
`;

/** The system calls a SystemCallFilter= group allows, groups expanded (systemd-analyze syscall-filter). */
async function expandSyscalls(group: string, seen = new Set<string>()): Promise<Set<string>> {
  const out = new Set<string>();
  if (seen.has(group)) return out;
  seen.add(group);
  const { stdout } = await run('systemd-analyze', ['syscall-filter', group]);
  for (const line of stdout.split('\n').slice(1)) {
    const name = line.trim().split(/\s+/)[0];
    if (!name || name.startsWith('#')) continue;
    if (name.startsWith('@')) for (const s of await expandSyscalls(name, seen)) out.add(s);
    else out.add(name);
  }
  return out;
}

t.test('the daemon boots and runs process and wasm agents under the unit\'s system call filter and address families', async (t) => {
  if (!requireTool(t, 'systemd-analyze', 'systemd') || !requireTool(t, 'python3', 'python3')) return;
  const libseccomp = await run('python3', ['-c', 'import ctypes; ctypes.CDLL("libseccomp.so.2")']).then(() => true, () => false);
  if (!requirePart(t, libseccomp, 'libseccomp.so.2 is not installed (apt-get install libseccomp2)')) return;
  requireBuild();
  const filters = values('SystemCallFilter');
  t.same(filters, ['@system-service'], 'the test applies exactly the unit\'s filter');
  t.equal(value('SystemCallErrorNumber'), 'EPERM');
  const allowed = await expandSyscalls('@system-service');
  t.ok(allowed.has('execve') && allowed.has('ioctl') && allowed.has('sendto'), 'exec (process isolates, esbuild), ioctl (I2C, SPI, serial), sendto (sd_notify)');
  const families = { AF_UNIX: 1, AF_INET: 2, AF_INET6: 10 } as Record<string, number>;
  const familyNumbers = (value('RestrictAddressFamilies') ?? '').split(/\s+/).map((f) => families[f] as number);

  const dir = tempDir(t);
  const allowFile = path.join(dir, 'allowed-syscalls');
  writeFileSync(allowFile, [...allowed].join('\n'));
  const home = path.join(dir, 'home');
  mkdirSync(home, { recursive: true });
  const socket = path.join(home, 'openstarryd.sock');
  const env: NodeJS.ProcessEnv = { ...process.env, OPENSTARRY_HOME: home, OPENSTARRY_EMBEDDED_BROKER: '127.0.0.1:0', OPENSTARRY_DASHBOARD: '127.0.0.1:0' };
  for (const k of ['NOTIFY_SOCKET', 'OPENSTARRY_CONFIG', 'OPENSTARRY_SOCKET']) delete env[k];
  const child = spawn('python3', ['-c', SECCOMP_EXEC, allowFile, familyNumbers.join(','), '1', process.execPath, DAEMON], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (c: Buffer) => (log += c.toString()));
  child.stderr.on('data', (c: Buffer) => (log += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  const waitFor = async (what: string, predicate: () => Promise<boolean> | boolean) => {
    for (let i = 0; i < 600; i++) {
      if (child.exitCode !== null) throw new Error(`the daemon exited (${child.exitCode}) waiting for ${what}:\n${log}`);
      if (await predicate()) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`timed out waiting for ${what}:\n${log}`);
  };
  await waitFor('ready', () => / ready in \d+ ms/.test(log));
  for (const isolation of ['process', 'wasm']) {
    const spawned = await runCli(socket, ['spawn', 'hello-sensor', '--isolation', isolation], env);
    t.equal(spawned.code, 0, `${isolation}: ${spawned.stderr}`);
    await waitFor(`hello-sensor (${isolation}) reading the HAL`, () => new RegExp(`hello-sensor\\[${spawned.stdout.trim()}\\] hello #1`).test(log));
    t.equal((await runCli(socket, ['kill', spawned.stdout.trim()], env)).code, 0);
  }
  child.kill('SIGTERM');
  t.equal(await exited, 0, 'a clean stop');
  t.notMatch(log, /EPERM|operation not permitted|EAFNOSUPPORT/i, 'nothing refused');
});
