// DAEMON_NODE_FLAGS (node-flags.ts) are given on every way the daemon starts, the daemon sets DAEMON_V8_FLAGS itself
// once ready, and why (Node's built-in code cache, V8's young generation).
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { DAEMON_ENV, DAEMON_NODE_FLAGS, DAEMON_V8_FLAGS, DAEMON_V8_FLAGS_OFF, DaemonV8Flags } from './node-flags.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const v8Flags = DAEMON_V8_FLAGS.join(' ');
const launch = (node: string, bundle: string) => [node, ...DAEMON_NODE_FLAGS, bundle].join(' ');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

t.test('the packaged wrapper, npm start, the e2e harness and the benchmarks all pass them', async (t) => {
  t.match(read('scripts/package/debian/openstarryd'), `exec ${launch('/usr/lib/openstarry/node/bin/node', '/usr/lib/openstarry/dist/openstarryd.js')} "$@"`);
  const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
  t.match(pkg.scripts.start, launch('node', 'dist/openstarryd.js'));
  for (const f of DAEMON_V8_FLAGS) t.notMatch(read('scripts/package/debian/openstarryd'), f, `${f} is set by the daemon, not the wrapper`);
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
    t.match(pkg.scripts.start, `${name}=${value} ${launch('node', 'dist/openstarryd.js')}`);
  }
  t.match(read('runtime/e2e/harness.ts'), '...DAEMON_ENV');
  t.match(read('scripts/bench/bench-table.ts'), '...DAEMON_ENV');
});

t.test('the daemon sets DAEMON_V8_FLAGS itself once ready (main.ts), after READY=1 (daemon.ts), off while a worker boots', async (t) => {
  const main = read('runtime/daemon/main.ts');
  t.match(main, 'new DaemonV8Flags((flag) => v8.setFlagsFromString(flag))');
  t.match(main, 'onReady: () => flags.apply()');
  t.match(main, 'workerBootWindow: () => flags.workerBooting()');
  const daemon = read('runtime/daemon/daemon.ts');
  t.ok(daemon.indexOf('this.#opts.onReady?.()') > daemon.indexOf('this.systemd.ready('), 'after READY=1');
  t.match(daemon, 'bootWindow: this.#opts.workerBootWindow', 'the worker driver gets the window');

  const set: string[] = [];
  const flags = new DaemonV8Flags((f) => set.push(f));
  const master = flags.workerBooting();
  t.same(set, [], 'nothing is set before READY');
  flags.apply();
  t.same(set, [], 'nor while the master agent still boots');
  master();
  t.same(set, [...DAEMON_V8_FLAGS], 'set once it has');
  flags.apply();
  t.same(set, [...DAEMON_V8_FLAGS], 'apply() is idempotent');
  set.length = 0;
  const one = flags.workerBooting();
  const two = flags.workerBooting();
  t.same(set, [...DAEMON_V8_FLAGS_OFF], 'off as the first of two workers boots');
  t.equal(flags.booting, 2);
  one();
  one();
  t.same(set, [...DAEMON_V8_FLAGS_OFF], 'still off while the other boots; a release counts once');
  two();
  t.same(set, [...DAEMON_V8_FLAGS_OFF, ...DAEMON_V8_FLAGS], 'on again when the last has booted');
  t.equal(flags.booting, 0);
});

t.test("on Node's command line they make Node refuse its built-in code cache; set at run time they do not", async (t) => {
  const rejected = (args: string[]) => {
    // Node writes its native debug lines to stderr.
    const { stderr } = spawnSync(process.execPath, args, { encoding: 'utf8', env: { ...process.env, NODE_DEBUG_NATIVE: 'CODE_CACHE' } });
    return stderr.split('\n').filter((l) => / is rejected$/.test(l)).length;
  };
  // The modules the daemon's boot loads after start-up, as a sample: net, http and what they load.
  const load = "require('node:net'); require('node:http'); require('node:zlib');";
  const atStart = rejected([...DAEMON_V8_FLAGS, '-e', load]);
  const late = rejected(['-e', `const v8 = require('node:v8'); for (const f of ${JSON.stringify(DAEMON_V8_FLAGS)}) v8.setFlagsFromString(f); ${load}`]);
  t.ok(atStart >= 20, `given at start-up: ${atStart} of Node's modules compiled from source`);
  t.ok(late * 3 < atStart, `set at run time: ${late}`);
});

t.test('a worker booting under them compiles Node from source; one booting once they are off again does not; --no-optimize-for-size alone is not off', async (t) => {
  // The daemon's order: options on at READY, its main thread loads more of Node (here zlib and http), off while a
  // worker boots. `workerFirst` boots one worker under the options instead, which the worker driver's window avoids.
  const rejectedAfterOff = (off: readonly string[], workerFirst = false) => {
    const script = `const v8 = require('node:v8'); const { Worker } = require('node:worker_threads');
      const boot = () => new Promise((r) => { const w = new Worker("require('node:worker_threads').parentPort.postMessage(1)", { eval: true }); w.once('message', () => w.terminate().then(r)); });
      (async () => {
        for (const f of ${JSON.stringify(DAEMON_V8_FLAGS)}) v8.setFlagsFromString(f);
        require('node:zlib'); require('node:http');
        if (${workerFirst}) { process._rawDebug('--- worker under the options'); await boot(); }
        for (const f of ${JSON.stringify(off)}) v8.setFlagsFromString(f);
        process._rawDebug('--- off');
        await boot();
      })();`;
    const { stderr } = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, NODE_DEBUG_NATIVE: 'CODE_CACHE' } });
    const lines = stderr.split('\n');
    const count = (from: string, to: string) => {
      const a = lines.indexOf(from);
      const b = to ? lines.indexOf(to) : lines.length;
      t.ok(a >= 0 && b > a, `the script reached "${from}"`);
      return lines.slice(a, b).filter((l) => / is rejected$/.test(l)).length;
    };
    return { underOptions: workerFirst ? count('--- worker under the options', '--- off') : 0, afterOff: count('--- off', '') };
  };
  t.equal(rejectedAfterOff(DAEMON_V8_FLAGS_OFF).afterOff, 0, 'a worker booting after DAEMON_V8_FLAGS_OFF accepts the cache for every module');
  const alone = rejectedAfterOff(['--no-optimize-for-size']).afterOff;
  // V8 of Node 20 and 22 implies --max-semi-space-size=1 from --optimize-for-size; Node 24's does not.
  if (Number(process.versions.node.split('.')[0]) <= 22) t.ok(alone >= 20, `after --no-optimize-for-size alone: refused (its implied --max-semi-space-size=1 stays): ${alone}`);
  else t.comment(`after --no-optimize-for-size alone on Node ${process.versions.node}: ${alone} refused`);
  const workerFirst = rejectedAfterOff(DAEMON_V8_FLAGS_OFF, true);
  t.ok(workerFirst.underOptions >= 20, `a worker booting under the options: ${workerFirst.underOptions} of Node's modules compiled from source`);
  t.ok(workerFirst.afterOff >= 20, `and it leaves Node's shared cache remade under them, refused by the next worker booting without: ${workerFirst.afterOff}`);
});

t.test('V8 caps the young generation only when the cap is given at start-up (what setting it later costs)', async (t) => {
  const burst = `const v8 = require('node:v8'); if (process.argv[1] === 'late') v8.setFlagsFromString('${v8Flags}');
    const keep = []; for (let i = 0; i < 400000; i++) { keep.push({ i, s: 'x' + i }); if (keep.length > 100000) keep.splice(0, 50000); }
    console.log(v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size);`;
  const newSpace = (args: string[]) => Number(execFileSync(process.execPath, args, { encoding: 'utf8' }).trim());
  const atStart = newSpace([...DAEMON_V8_FLAGS, '-e', burst, 'start']);
  // V8 grows the young generation from its survival statistics, which a loaded machine can leave below the growth
  // threshold in one run (seen once: 1.0 MB beside other test files): the largest of three runs shows the cap is off.
  const late = Math.max(...[1, 2, 3].map(() => newSpace(['-e', burst, 'late'])));
  t.ok(atStart <= 6 * 2 ** 20, `young generation with the flag at start-up: ${(atStart / 2 ** 20).toFixed(1)} MB`);
  t.ok(late > atStart, `set at run time it is not capped: ${(late / 2 ** 20).toFixed(1)} MB`);
});
