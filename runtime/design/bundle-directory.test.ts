// The bundle folder's scan (bundle-directory.ts) on the real file system: a bundle that cannot be read (copied in
// by another user, mode 0600) is reported with why instead of vanishing from the listing, and is served once it
// can be read. As root (CI) the scan runs in a child process as `nobody`, for whom the file is unreadable.
import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { BundleDirectory } from './bundle-directory.ts';

const NOBODY = 65534;
const bundleText = (version: string) => JSON.stringify({ format: 1, template: { id: 'greeter', version } });

/** The scan as the unprivileged reader sees it: in this process when not root, else in a child running as nobody. */
function scanAsUnprivileged(dir: string): { bundles: Record<string, string[]>; invalid: string[] } {
  const script = [
    `import { BundleDirectory } from ${JSON.stringify(path.join(import.meta.dirname, 'bundle-directory.ts'))};`,
    `const scan = await new BundleDirectory(${JSON.stringify(dir)}).scan();`,
    'console.log(JSON.stringify({ bundles: Object.fromEntries([...scan.bundles].map(([id, v]) => [id, [...v.keys()]])), invalid: scan.invalid.map((i) => i.error) }));',
  ].join('\n');
  const asNobody = process.getuid?.() === 0;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    cwd: path.join(import.meta.dirname, '..', '..'),
    env: { ...process.env, HOME: tmpdir() },
    ...(asNobody ? { uid: NOBODY, gid: NOBODY } : {}),
  });
  return JSON.parse(out) as { bundles: Record<string, string[]>; invalid: string[] };
}

t.test('an unreadable bundle is reported with why, then served once it can be read', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'os-bundles-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await chmod(dir, 0o755);
  await writeFile(path.join(dir, 'a.osb'), bundleText('1.0.0'), { mode: 0o644 });
  await writeFile(path.join(dir, 'b.osb'), bundleText('1.1.0'), { mode: 0o600 });
  await chmod(path.join(dir, 'b.osb'), 0o000);
  const hidden = scanAsUnprivileged(dir);
  t.same(hidden.bundles, { greeter: ['1.0.0'] }, 'the readable one is served');
  t.equal(hidden.invalid.length, 1);
  t.match(hidden.invalid[0], /b\.osb: cannot read: EACCES/, 'the unreadable one is named with the reason');
  await chmod(path.join(dir, 'b.osb'), 0o644);
  t.same(scanAsUnprivileged(dir), { bundles: { greeter: ['1.0.0', '1.1.0'] }, invalid: [] }, 'readable now: served');
});

t.test('one BundleDirectory: a removed file leaves the listing and its cache, a fixed one is read again', async (t) => {
  const dir = t.testdir({ 'a.osb': bundleText('1.0.0'), 'b.osb': 'not json' });
  const bundles = new BundleDirectory(dir);
  const first = await bundles.scan();
  t.same([...(first.bundles.get('greeter')?.keys() ?? [])], ['1.0.0']);
  t.match(first.invalid, [{ error: /b\.osb: not a bundle/ }]);
  await rm(path.join(dir, 'a.osb'));
  await writeFile(path.join(dir, 'b.osb'), bundleText('2.0.0'));
  const second = await bundles.scan();
  t.same([...(second.bundles.get('greeter')?.keys() ?? [])], ['2.0.0']);
  t.same(second.invalid, []);
});
