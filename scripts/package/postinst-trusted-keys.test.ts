// The .deb's postinst makes the folder of trusted bundle keys (README "Deploying updates"): its make_trusted_keys_dir
// function, run by dash on a temporary folder: 0755 (public keys, readable by the daemon), an existing folder kept
// with its mode; and the wrapper names it in OPENSTARRY_TRUSTED_KEYS.
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';
import { requireTool } from '../testing/system-deps.ts';

const DEBIAN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'debian');

t.test('postinst makes /etc/openstarry/trusted-keys 0755 once, and the wrapper points the daemon at it', async (t) => {
  if (!requireTool(t, 'dash', 'dash')) return;
  const text = readFileSync(path.join(DEBIAN, 'postinst'), 'utf8');
  const fn = /^make_trusted_keys_dir\(\) \{\n[\s\S]*?\n\}\n/m.exec(text)?.[0];
  t.ok(fn, 'postinst defines make_trusted_keys_dir');
  t.match(text, /^\tmake_trusted_keys_dir \/etc\/openstarry\/trusted-keys$/m, 'and calls it on configure');
  t.match(readFileSync(path.join(DEBIAN, 'openstarryd'), 'utf8'), /^: "\$\{OPENSTARRY_TRUSTED_KEYS=\/etc\/openstarry\/trusted-keys\}"\nexport OPENSTARRY_TRUSTED_KEYS$/m);
  const dir = mkdtempSync(path.join(tmpdir(), 'os-postinst-keys-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const keys = path.join(dir, 'etc', 'openstarry', 'trusted-keys');
  // umask 077 as a hardened root shell might have: the folder is 0755 all the same.
  const run = () => promisify(execFile)('dash', ['-ec', `umask 077\n${fn}\nmake_trusted_keys_dir "$1"`, 'postinst', keys]);
  await run();
  t.equal(statSync(keys).mode & 0o777, 0o755);
  chmodSync(keys, 0o750);
  await run();
  t.equal(statSync(keys).mode & 0o777, 0o750, "an existing folder keeps the admin's mode");
});
