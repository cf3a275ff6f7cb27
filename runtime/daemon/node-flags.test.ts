// DAEMON_NODE_FLAGS (node-flags.ts) are given on every way the daemon starts, and they do what they are for.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { DAEMON_ENV, DAEMON_NODE_FLAGS } from './node-flags.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const flags = DAEMON_NODE_FLAGS.join(' ');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

t.test('the packaged wrapper, npm start, the e2e harness and the benchmarks all pass them', async (t) => {
  t.match(read('scripts/package/debian/openstarryd'), `exec /usr/lib/openstarry/node/bin/node ${flags} /usr/lib/openstarry/dist/openstarryd.js "$@"`);
  const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
  t.match(pkg.scripts.start, `node ${flags} dist/openstarryd.js`);
  t.match(read('runtime/e2e/harness.ts'), 'DAEMON_NODE_FLAGS');
  t.equal(read('runtime/daemon/main.ts').split('\n')[0], '#!/usr/bin/env node', 'not on the #! line (lintian: unusual-interpreter)');
  t.match(read('scripts/bench/bench-table.ts'), 'DAEMON_NODE_FLAGS');
});

t.test('and the environment beside them (DAEMON_ENV): the wrapper only when unset, npm start, the e2e harness, the benchmarks', async (t) => {
  const wrapper = read('scripts/package/debian/openstarryd');
  const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
  for (const [name, value] of Object.entries(DAEMON_ENV)) {
    t.match(wrapper, `: "\${${name}=${value}}"\nexport ${name}\n`, `the wrapper sets ${name} when unset`);
    t.ok(wrapper.indexOf(`export ${name}`) < wrapper.indexOf('exec '), 'before it starts node');
    t.match(pkg.scripts.start, `${name}=${value} node ${flags} dist/openstarryd.js`);
  }
  t.match(read('runtime/e2e/harness.ts'), '...DAEMON_ENV');
  t.match(read('scripts/bench/bench-table.ts'), '...DAEMON_ENV');
});

t.test('V8 honours the cap given at start-up, and not when set at run time (why it is a command-line option)', async (t) => {
  const burst = `const v8 = require('node:v8'); if (process.argv[1] === 'late') v8.setFlagsFromString('${flags}');
    const keep = []; for (let i = 0; i < 400000; i++) { keep.push({ i, s: 'x' + i }); if (keep.length > 100000) keep.splice(0, 50000); }
    console.log(v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size);`;
  const newSpace = (args: string[]) => Number(execFileSync(process.execPath, args, { encoding: 'utf8' }).trim());
  const atStart = newSpace([...DAEMON_NODE_FLAGS, '-e', burst, 'start']);
  const late = newSpace(['-e', burst, 'late']);
  t.ok(atStart <= 6 * 2 ** 20, `young generation with the flag at start-up: ${(atStart / 2 ** 20).toFixed(1)} MB`);
  t.ok(late > atStart, `set at run time it is not capped: ${(late / 2 ** 20).toFixed(1)} MB`);
});
