// The .deb's postinst makes the dashboard's token (README "Dashboard"): its make_dashboard_token function, run by
// dash on a temporary folder with chown stubbed (the test must not need the openstarry group): 32 random bytes as
// base64url, mode 0640, chown root:openstarry, and a token already there is kept.
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';
import { requireTool } from '../testing/system-deps.ts';

const POSTINST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'debian', 'postinst');

t.test('postinst makes a 0640 root:openstarry base64url token once and keeps it after', async (t) => {
  if (!requireTool(t, 'dash', 'dash')) return;
  const text = readFileSync(POSTINST, 'utf8');
  const fn = /^make_dashboard_token\(\) \{\n[\s\S]*?\n\}\n/m.exec(text)?.[0];
  t.ok(fn, 'postinst defines make_dashboard_token');
  t.match(text, /^\tmake_dashboard_token \/etc\/openstarry\/dashboard-token$/m, 'and calls it on configure for /etc/openstarry/dashboard-token');
  const dir = mkdtempSync(path.join(tmpdir(), 'os-postinst-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const bin = path.join(dir, 'bin');
  const log = path.join(dir, 'chown.log');
  await promisify(execFile)('mkdir', ['-p', bin]);
  writeFileSync(path.join(bin, 'chown'), `#!/bin/sh\necho "$@" >> ${log}\n`);
  chmodSync(path.join(bin, 'chown'), 0o755);
  const token = path.join(dir, 'etc', 'openstarry', 'dashboard-token');
  const run = () => promisify(execFile)('dash', ['-ec', `${fn}\nmake_dashboard_token "$1"`, 'postinst', token], { env: { PATH: `${bin}:${process.env.PATH}` } });
  await run();
  const first = readFileSync(token, 'utf8');
  t.match(first, /^[A-Za-z0-9_-]{43}$/, '32 bytes as base64url, no padding, no newline');
  t.equal(statSync(token).mode & 0o777, 0o640);
  t.equal(readFileSync(log, 'utf8').trim(), `root:openstarry ${token}.new`);
  await run();
  t.equal(readFileSync(token, 'utf8'), first, 'an existing token is kept');
});
