// Issue 12 (idle RSS): production schemas are zod/mini, never classic zod (eslint's no-restricted-imports says so
// per file; this checks what the build holds, dynamic imports and dependencies included), and every module that
// builds them loads zod-messages.ts, without which zod/mini's messages all read "Invalid input".
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { bundledSources, staticClosure } from '../scripts/testing/bundle-imports.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const FOLDERS = ['runtime', 'hal', 'drivers', 'board-profiles', 'agents'];
const CLASSIC = /^import\s+(?:type\s+)?[^;]*?from\s+'zod(?:\/v4|\/v3|\/v4\/classic)?';/m;
const MINI_VALUE = /^import\s+(?!type\b)[^;]*?from\s+'zod\/mini';/m;
const MESSAGES = /^import\s+'(?:\.\.?\/)+(?:runtime\/)?zod-messages\.ts';/m;

async function productionSources(): Promise<{ file: string; text: string }[]> {
  const out: { file: string; text: string }[] = [];
  for (const folder of FOLDERS) {
    for (const rel of await readdir(path.join(ROOT, folder), { recursive: true })) {
      if (!/\.ts$/.test(rel) || rel.endsWith('.test.ts') || rel.split(path.sep).includes('node_modules')) continue;
      const file = path.join(folder, rel);
      out.push({ file, text: await readFile(path.join(ROOT, file), 'utf8') });
    }
  }
  return out;
}

t.test('production sources: no classic zod, and zod/mini with its English messages', async (t) => {
  const sources = await productionSources();
  const mini = sources.filter((s) => MINI_VALUE.test(s.text) && s.file !== path.join('runtime', 'zod-messages.ts'));
  t.ok(mini.length >= 20, `the schema modules are found (${mini.length})`);
  t.same(sources.filter((s) => CLASSIC.test(s.text)).map((s) => s.file), [], 'no module imports classic zod');
  t.same(mini.filter((s) => !MESSAGES.test(s.text)).map((s) => s.file), [], 'every zod/mini module imports runtime/zod-messages.ts');
});

t.test('the patterns: a classic import is caught, a mini one is not', async (t) => {
  t.ok(CLASSIC.test("import * as z from 'zod';"));
  t.ok(CLASSIC.test("import type * as z from 'zod/v4';"));
  t.notOk(CLASSIC.test("import * as z from 'zod/mini';"));
  t.notOk(CLASSIC.test("import type { $ZodError } from 'zod/v4/core';"));
  t.ok(MINI_VALUE.test("import * as z from 'zod/mini';"));
  t.notOk(MINI_VALUE.test("import type * as z from 'zod/mini';"));
  t.ok(MESSAGES.test("import '../../runtime/zod-messages.ts';"));
});

t.test('the build: no chunk of dist/ holds classic zod; the daemon boots with the English messages', async (t) => {
  const dist = path.join(ROOT, 'dist');
  if (!existsSync(path.join(dist, 'openstarryd.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does it for you)');
  const chunks = (await readdir(dist)).filter((f) => f.endsWith('.js') && existsSync(path.join(dist, `${f}.map`))).map((f) => path.join(dist, f));
  const all = await bundledSources(chunks, ROOT);
  t.ok(all.some((s) => s.includes('node_modules/zod/v4/mini/')), 'zod/mini is bundled');
  t.same(all.filter((s) => s.includes('node_modules/zod/v4/classic/')), [], 'classic zod is not');
  const { files } = await staticClosure(path.join(dist, 'openstarryd.js'));
  const main = await readFile(path.join(dist, 'openstarryd.js'), 'utf8');
  // The daemon's entry awaits its boot chunk (runtime/daemon/main.ts); the schemas are in that chunk's closure.
  const boot = /await import\("\.\/(chunk-[A-Z0-9]+\.js)"\)/.exec(main)?.[1];
  t.ok(boot, 'the entry imports its boot chunk');
  const bootFiles = boot === undefined ? files : [...files, ...(await staticClosure(path.join(dist, boot))).files];
  t.ok((await bundledSources(bootFiles, ROOT)).includes('node_modules/zod/v4/locales/en.js'), 'the English locale is on the boot path');
});
