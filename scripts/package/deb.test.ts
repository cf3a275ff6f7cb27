// The control area and the .deb cache with a real (tiny) dpkg-deb build: conffiles, md5sums without the
// conffile, and a cached package reused only while neither a file's content nor its mode changed.
import { execFile } from 'node:child_process';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { requireTool } from '../testing/system-deps.ts';
import { buildDebCached, writeControlArea } from './deb.ts';

const exec = promisify(execFile);

t.test('control area, then a cached build reused until something in the package changes', async (t) => {
  if (!requireTool(t, 'dpkg-deb', 'dpkg')) return;
  const dir = t.testdir({});
  const root = path.join(dir, 'root');
  await mkdir(path.join(root, 'etc', 'openstarry'), { recursive: true });
  await mkdir(path.join(root, 'usr', 'bin'), { recursive: true });
  await writeFile(path.join(root, 'etc', 'openstarry', 'openstarry.yaml'), '# all comments\n');
  await writeFile(path.join(root, 'usr', 'bin', 'tool'), '#!/bin/sh\n');
  await chmod(path.join(root, 'usr', 'bin', 'tool'), 0o755);
  const control = { version: '0.0.1', arch: 'amd64', maintainer: 'T <t@example.invalid>', installedSize: 1, depends: ['libc6 (>= 2.28)', 'adduser'], nodeVersion: '22.23.5' };
  await writeControlArea(root, control);
  t.equal(await readFile(path.join(root, 'DEBIAN', 'conffiles'), 'utf8'), '/etc/openstarry/openstarry.yaml\n');
  t.match(await readFile(path.join(root, 'DEBIAN', 'md5sums'), 'utf8'), /^[0-9a-f]{32} {2}usr\/bin\/tool\n$/, 'md5sums lists files but not the conffile');
  t.match(await readFile(path.join(root, 'DEBIAN', 'control'), 'utf8'), /^Package: openstarry\nVersion: 0\.0\.1\nArchitecture: amd64\n[\s\S]*Depends: libc6 \(>= 2\.28\), adduser\n/);

  const cache = path.join(dir, 'cache');
  const deb = path.join(dir, 'out', 'x.deb');
  t.equal(await buildDebCached(root, deb, 'gzip', cache, 'amd64'), false, 'first build: dpkg-deb');
  t.match((await exec('dpkg-deb', ['-f', deb, 'Version'])).stdout, /0\.0\.1/);
  t.equal(await buildDebCached(root, deb, 'gzip', cache, 'amd64'), true, 'nothing changed: copied from the cache');
  await chmod(path.join(root, 'usr', 'bin', 'tool'), 0o644);
  t.equal(await buildDebCached(root, deb, 'gzip', cache, 'amd64'), false, 'a mode changed: built again');
  t.equal(await buildDebCached(root, deb, 'none', cache, 'amd64'), false, 'uncompressed: never cached');
});
