/**
 * What the production schema modules cost the heap (issue 12: the idle daemon's RSS). Every module of runtime/,
 * hal/, drivers/ and board-profiles/ that imports zod (tests aside) is bundled into one file the way
 * scripts/build.mjs bundles the daemon, then each run, a fresh `node` with the daemon's flags
 * (runtime/daemon/node-flags.ts), collects garbage, imports the bundle, collects again and prints what the heap
 * grew by: the modules' code, their schema objects and whatever else they build at load. Not a row of
 * `npm run bench` (no baseline to set it beside); a before/after figure for a change to the schemas:
 *
 *   node --import tsx scripts/bench/schema-heap.ts [runs]      (default 5; prints the median and every run)
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';
import { median } from './measure.ts';
import { DAEMON_NODE_FLAGS, ROOT } from './bench-table.ts';

const FOLDERS = ['runtime', 'hal', 'drivers', 'board-profiles'];
/** A value import of zod or one of its entry points (`import type` costs nothing at run time). */
const ZOD_IMPORT = /^import \* as z from 'zod(?:\/[a-z0-9/]+)?';$/m;

async function schemaModules(): Promise<string[]> {
  const found: string[] = [];
  for (const folder of FOLDERS) {
    for (const rel of await readdir(path.join(ROOT, folder), { recursive: true })) {
      if (!rel.endsWith('.ts') || rel.endsWith('.test.ts') || rel.split(path.sep).includes('e2e')) continue;
      const file = path.join(ROOT, folder, rel);
      if (ZOD_IMPORT.test(await readFile(file, 'utf8'))) found.push(file);
    }
  }
  return found.sort();
}

// Runs in the measured process: full collections until the heap stops shrinking, before and after the import.
const PROBE = `
const settle = () => { let last = Infinity; for (let i = 0; i < 8; i++) { globalThis.gc(); const h = process.memoryUsage().heapUsed; if (h >= last) return h; last = h; } return last; };
const before = settle();
globalThis.kept = await import(process.argv[1]);
const after = settle();
console.log(after - before);
`;

const runs = Number(process.argv[2] ?? 5);
const modules = await schemaModules();
// Under node_modules/ so that what the daemon's build leaves external (native addons) resolves as it does from dist/.
const dir = path.join(ROOT, 'node_modules', '.cache', 'schema-heap');
await rm(dir, { recursive: true, force: true });
await mkdir(dir, { recursive: true });
const entry = path.join(dir, 'entry.ts');
await writeFile(entry, modules.map((m, i) => `export * as m${i} from ${JSON.stringify(m)};`).join('\n') + '\n');
const out = path.join(dir, 'schemas.mjs');
// scripts/build.mjs's options for the daemon (its `common`) that change what the heap holds: minified source, the
// same externals, the same require() banner.
const daemonLike = { bundle: true, platform: 'node', format: 'esm', minifyWhitespace: true, minifySyntax: true } as const;
const banner = { js: "import { createRequire as __osCreateRequire } from 'node:module'; const require = __osCreateRequire(import.meta.url);" };
await build({ ...daemonLike, entryPoints: [entry], outfile: out, logLevel: 'warning', banner, external: ['@serialport/bindings-cpp', 'i2c-bus', 'epoll', 'esbuild', 'dockerode'] });
const bundled = await readFile(out, 'utf8');
const samples: number[] = [];
for (let i = 0; i < runs; i++) {
  const text = execFileSync(process.execPath, [...DAEMON_NODE_FLAGS, '--expose-gc', '--input-type=module', '-e', PROBE, out], { encoding: 'utf8' });
  samples.push(Number(text.trim()));
}
const kb = (n: number) => `${(n / 1024).toFixed(0)} KB`;
// Classic zod's base class is registered under this name; zod/mini's is "ZodMiniType".
const classic = bundled.includes('$constructor("ZodType"') ? 'classic zod' : 'no classic zod';
console.log(`${modules.length} schema modules, bundle ${kb((await stat(out)).size)} (${classic})`);
console.log(`heap after import - heap before, median of ${runs}: ${kb(median(samples))} (runs: ${samples.map(kb).join(', ')})`);
