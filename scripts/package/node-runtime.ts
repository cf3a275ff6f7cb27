/**
 * The Node runtime a package embeds: the npm package `node-linux-<cpu>@NODE_VERSION` (the way code-server's .deb
 * carries its Node), fetched with `npm pack` so npm's own cache makes a rerun offline and fast. Of it the package
 * ships only bin/node (stripped, as Debian Policy §10.1 asks of binaries) and LICENSE; include/node stays in the
 * cache for node-gyp, which builds the native addons against exactly these headers.
 */
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { ArchSpec } from './arch.ts';
import { NODE_VERSION, nodePackageName } from './arch.ts';
import { cachedDir } from './cache.ts';
import { run } from './run.ts';
import { stripExecutable } from './strip.ts';

export interface NodeRuntime {
  readonly version: string;
  /** The stripped executable to install as node/bin/node. */
  readonly binary: string;
  readonly license: string;
  /** node-gyp's --nodedir: holds include/node (headers, common.gypi) of this runtime. */
  readonly nodedir: string;
}

export async function nodeRuntime(arch: ArchSpec, cacheRoot: string, version: string = NODE_VERSION): Promise<NodeRuntime> {
  const spec = `${nodePackageName(arch)}@${version}`;
  const dir = await cachedDir(cacheRoot, `${nodePackageName(arch)}-${version}`, async (temp) => {
    await run('npm', ['pack', '--silent', '--pack-destination', temp, spec], { cwd: temp });
    const tarball = (await readdir(temp)).find((f) => f.endsWith('.tgz'));
    if (tarball === undefined) throw new Error(`npm pack ${spec} wrote no tarball`);
    await run('tar', ['-xzf', path.join(temp, tarball), '-C', temp]);
    await stripExecutable(arch, path.join(temp, 'package', 'bin', 'node'), path.join(temp, 'node'));
    // The unstripped binary (125 MB) and the tarball are not needed again; npm's cache keeps the tarball.
    await rm(path.join(temp, 'package', 'bin'), { recursive: true });
    await rm(path.join(temp, tarball));
  });
  return { version, binary: path.join(dir, 'node'), license: path.join(dir, 'package', 'LICENSE'), nodedir: path.join(dir, 'package') };
}
