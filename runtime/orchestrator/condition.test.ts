// Rule conditions (CEL): what an expression sees, load-time errors, run-time failures that make a condition false,
// and that neither prototypes nor `constructor` can be reached, whatever the event data holds.
import { readFile, readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import t from 'tap';
import type { JsonValue } from '../core/plugin.ts';
import type { CompiledCondition } from './condition.ts';
import { CONDITION_MAX_CHARS, compileCondition } from './condition.ts';

function compile(source: string): CompiledCondition {
  const c = compileCondition(source);
  if ('error' in c) throw new Error(`${source}: ${c.error}`);
  return c;
}
const run = (source: string, data: JsonValue, name = 'x', from = 'mqtt') => compile(source).evaluate({ name, source: from, data });

t.test('data fields are variables; `event` is { name, source, data }', async (t) => {
  t.same(run("branch == 'main'", { branch: 'main' }), { value: true });
  t.same(run("branch == 'main'", { branch: 'dev' }), { value: false });
  t.same(run('value > 30.0 && value < 40', { value: 31.5 }), { value: true });
  t.same(run('value > 30', { value: 31 }), { value: true }, 'JSON integers compare with int literals');
  t.same(run("event.name.startsWith('git:') && event.source == 'cli'", {}, 'git:commit_pushed', 'cli'), { value: true });
  t.same(run("event.data.files.exists(f, f.endsWith('.ts'))", { files: ['a.md', 'b.ts'] }), { value: true });
  t.same(run("has(event.data.branch) && size(event.data.branch) > 0", { other: 1 }), { value: false });
  t.same(run('event.data == 5', 5), { value: true }, 'non-object data is reachable as event.data');
  t.same(run("event.name == 'mine'", { event: 'spoof' }, 'mine'), { value: true }, '`event` cannot be shadowed by a data field');
});

t.test('run-time failures make the condition false, with the reason', async (t) => {
  t.match(run("branch == 'main'", {}), { value: false, error: /Unknown variable: branch/ });
  t.match(run('value > 30', { value: 'hot' }), { value: false, error: /overload|compare/i });
  t.match(run('event.data', { a: 1 }), { value: false, error: /not a boolean/ });
  t.match(run('event.data.missing == 1', { a: 1 }), { value: false, error: /No such key: missing/ });
});

t.test('load-time errors: syntax, unknown functions and methods, non-boolean type, length', async (t) => {
  const err = (s: string) => {
    const c = compileCondition(s);
    return 'error' in c ? c.error : undefined;
  };
  t.match(err("branch == 'main"), /^syntax error:/);
  t.match(err('a &&'), /^syntax error:/);
  t.equal(err('foo(branch)'), 'unknown function "foo"');
  t.equal(err('branch.shout()'), 'unknown function "shout"');
  t.equal(err('eval("1")'), 'unknown function "eval"');
  t.equal(err('Function("return 1")'), 'unknown function "Function"');
  t.match(err('size(1, 2)'), /no matching overload/, 'a known function with wrong arguments says so');
  t.equal(err("'a' + 'b'"), 'must be a boolean expression (it is string)');
  t.equal(err('   '), 'empty expression');
  t.match(err('a == 1 && '.repeat(300) + 'true'), new RegExp(`longer than ${CONDITION_MAX_CHARS}`));
  t.match(err('['.repeat(100) + ']'.repeat(100) + ' == []'), /depth|nest|limit/i, 'nesting is bounded');
  t.equal(err('value > 30 || branch in ["main", "release"]'), undefined);
});

t.test('no prototype, constructor or __proto__ access, and no pollution', async (t) => {
  const polluting = JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}, "a": 1}') as JsonValue;
  const attempts = [
    'constructor == null',
    "constructor.prototype.polluted == true",
    'toString == null',
    'hasOwnProperty == null',
    "event.constructor == null",
    "event.data.constructor == null",
    "event['constructor'] == null",
    "event.data['__proto__'].polluted == true",
    "a.constructor == null",
    "event.name.constructor == null",
    "has(event.toString)",
    'polluted == true',
  ];
  for (const source of attempts) {
    const c = compileCondition(source);
    if ('error' in c) {
      t.pass(`${source}: refused at load (${c.error})`);
      continue;
    }
    const r = c.evaluate({ name: 'x', source: 'mqtt', data: polluting });
    if (source === 'constructor.prototype.polluted == true') {
      // This reads the event's own JSON key named "constructor" — plain data, not the JavaScript constructor.
      t.equal(r.value, true, `${source}: the data's own key, as data`);
    } else {
      t.equal(r.value, false, `${source}: not reachable (${r.error ?? 'false'})`);
    }
  }
  t.equal(compileCondition('__proto__ == null').constructor, Object, 'sanity');
  t.match(compileCondition('__proto__ == null'), { error: /Reserved identifier/ });
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype untouched');
  t.equal((Object.prototype as unknown as Record<string, unknown>).polluted, undefined);
});

t.test('the expression library compiles nothing: no eval or new Function in its sources', async (t) => {
  const require = createRequire(import.meta.url);
  const lib = path.dirname(require.resolve('@marcbachmann/cel-js'));
  const files = (await readdir(lib)).filter((f) => f.endsWith('.js'));
  t.ok(files.length > 5, 'found the library sources');
  for (const f of files) {
    const text = await readFile(path.join(lib, f), 'utf8');
    t.notMatch(text, /\bnew Function\b|\beval\s*\(|\bFunction\s*\(\s*['"`]/, f);
  }
});
