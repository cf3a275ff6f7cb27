// runtime/core is the pure AgentCore (spec 002 §3): it must run unchanged in a worker, a child process, a container
// and QuickJS, so it imports no node builtin and nothing outside runtime/core. eslint.config.js enforces the same
// rule at lint time; this test is the belt to those braces (a disabled lint rule or a new file type slips past it).
// The test itself reads the file system, so it may import node builtins; the files it checks may not.
/* eslint-disable no-restricted-imports -- this test is not part of the pure core; it inspects it */
import { readFile, readdir } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import ts from 'typescript';

const CORE_DIR = path.dirname(fileURLToPath(import.meta.url));
const builtins = new Set(builtinModules);

/** Every module specifier of a source file: static imports, export-from, side-effect imports, import(), require(). */
function specifiers(source: string): string[] {
  return ts.preProcessFile(source, true, true).importedFiles.map((f) => f.fileName);
}

/** Why `specifier`, imported from `file`, breaks the purity rule; undefined when it does not. */
function purityProblem(specifier: string, file: string, coreDir: string = CORE_DIR): string | undefined {
  const bare = specifier.split('/')[0] ?? specifier;
  if (specifier.startsWith('node:') || builtins.has(specifier) || builtins.has(bare)) return `node builtin "${specifier}"`;
  if (specifier.startsWith('.') || specifier.startsWith('/')) {
    const target = path.resolve(path.dirname(file), specifier);
    const rel = path.relative(coreDir, target);
    if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return `"${specifier}" leaves runtime/core`;
    return undefined;
  }
  return `package "${specifier}" (the core imports nothing from outside runtime/core)`;
}

async function coreSources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await coreSources(full)));
    else if (/\.(m|c)?ts$/.test(entry.name) && !/\.test\.(m|c)?ts$/.test(entry.name)) out.push(full);
  }
  return out.sort();
}

t.test('the checker itself recognises what it must reject', async (t) => {
  const file = path.join(CORE_DIR, 'x.ts');
  const found = specifiers(`
    // import fake from 'node:commented-out';
    import a from 'node:fs';
    import { b } from 'worker_threads';
    import type { C } from 'fs/promises';
    export { d } from '../daemon/daemon.ts';
    export * from './ok.ts';
    import './side-effect.ts';
    const e = await import('../../hal/x.ts');
    const s = "import q from 'in-a-string'";
    import z from 'zod';
  `);
  t.same(found, ['node:fs', 'worker_threads', 'fs/promises', '../daemon/daemon.ts', './ok.ts', './side-effect.ts', '../../hal/x.ts', 'zod']);
  t.match(purityProblem('node:fs', file), /node builtin/);
  t.match(purityProblem('worker_threads', file), /node builtin/);
  t.match(purityProblem('fs/promises', file), /node builtin/);
  t.match(purityProblem('../daemon/daemon.ts', file), /leaves runtime\/core/);
  t.match(purityProblem('../../hal/x.ts', file), /leaves runtime\/core/);
  t.match(purityProblem('zod', file), /package/);
  t.equal(purityProblem('./ok.ts', file), undefined);
  t.equal(purityProblem('../core/errors.ts', file), undefined, 'up and straight back into core stays inside');
  t.equal(purityProblem('../errors.ts', path.join(CORE_DIR, 'sub', 'y.ts')), undefined, 'a subfolder may import its parent inside core');
});

t.test('no non-test file in runtime/core imports a node builtin or leaves runtime/core', async (t) => {
  const files = await coreSources(CORE_DIR);
  t.ok(files.length >= 5, `found the core sources (${files.length})`);
  for (const name of ['agent-core.ts', 'channel-endpoint.ts', 'internal-bus.ts', 'errors.ts']) {
    t.ok(files.includes(path.join(CORE_DIR, name)), `${name} is checked`);
  }
  t.notOk(files.some((f) => f.endsWith('.test.ts')), 'tests are not checked');
  const problems: string[] = [];
  for (const file of files) {
    for (const spec of specifiers(await readFile(file, 'utf8'))) {
      const problem = purityProblem(spec, file);
      if (problem) problems.push(`${path.relative(CORE_DIR, file)}: ${problem}`);
    }
  }
  t.same(problems, [], 'runtime/core is pure');
});
