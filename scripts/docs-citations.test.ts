// The repository documents itself (issue 14): comments and docs cite README.md, docs/ARCHITECTURE.md or the
// specification by number and clause — never documents outside the repository — and every cited section exists.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';

const ROOT = path.resolve(import.meta.dirname, '..');
const FOLDERS = ['runtime', 'hal', 'drivers', 'board-profiles', 'scripts', 'agents', 'native', '.ci', 'docs'];
const SKIP = new Set(['node_modules', 'dist', 'build', '.git']);
const TEXT = /\.(ts|mts|cts|js|mjs|cjs|json|sh|md|yaml|yml|c|cc|h|gyp)$|^run$/;

function* files(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    if (SKIP.has(name)) continue;
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) yield* files(full);
    else if (TEXT.test(name)) yield full;
  }
}

const sources = [path.join(ROOT, 'README.md'), ...FOLDERS.flatMap((f) => [...files(path.join(ROOT, f))])].filter((f) => f !== import.meta.filename); // its own patterns are not citations
const headings = (file: string) => new Set([...readFileSync(path.join(ROOT, file), 'utf8').matchAll(/^#{1,4} (.+)$/gm)].map((m) => (m[1] as string).trim()));
// The outside documents' names, spelled in pieces so this file is not itself a citation of them.
const OUTSIDE = new RegExp(`${'DESIGN'} §|${'DESIGN'}\\.md|${'TESTING'}\\.md`);
const architecture = headings('docs/ARCHITECTURE.md');
const readme = headings('README.md');

t.test('no comment or doc cites a document outside the repository', async (t) => {
  const outside: string[] = [];
  for (const file of sources) {
    const text = readFileSync(file, 'utf8');
    for (const [i, line] of text.split('\n').entries()) {
      if (OUTSIDE.test(line)) outside.push(`${path.relative(ROOT, file)}:${i + 1}: ${line.trim()}`);
    }
  }
  t.same(outside, [], 'cite README.md, docs/ARCHITECTURE.md or the specification (spec 000 / spec 002 and clause) instead');
});

t.test('every cited section of docs/ARCHITECTURE.md and of the README exists', async (t) => {
  const missing: string[] = [];
  let cited = 0;
  for (const file of sources) {
    const text = readFileSync(file, 'utf8').replace(/\s*\n\s*(\*|\/\/|#)?\s*/g, ' '); // citations wrap across comment lines
    for (const m of text.matchAll(/docs\/ARCHITECTURE\.md \\?"([^"\\]+)\\?"/g)) {
      cited += 1;
      if (m[1] === 'Section name' || m[1] === 'Old name') continue; // the file's own example of a citation
      if (!architecture.has(m[1] as string)) missing.push(`${path.relative(ROOT, file)}: docs/ARCHITECTURE.md "${m[1]}"`);
    }
    for (const m of text.matchAll(/README \\?"([^"\\]+)\\?"/g)) {
      cited += 1;
      if (!readme.has(m[1] as string)) missing.push(`${path.relative(ROOT, file)}: README "${m[1]}"`);
    }
  }
  t.ok(cited > 100, `${cited} citations checked`);
  t.same(missing, [], 'a cited heading that does not exist (renamed? rename its citations with it)');
});
