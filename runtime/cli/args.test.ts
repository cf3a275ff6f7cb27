import t from 'tap';
import type { Command } from './args.ts';
import { parseCommandLine } from './args.ts';
import { commands } from './commands/index.ts';

t.test('finds the command around global options and option values', async (t) => {
  let p = parseCommandLine(['--socket', '/x.sock', 'ps', '--json'], commands);
  t.equal(p.command?.name, 'ps');
  t.equal(p.socketFlag, '/x.sock');
  t.equal(p.json, true);
  t.same(p.args, []);

  p = parseCommandLine(['logs', '-n', '5', 'pump', '-f'], commands);
  t.equal(p.command?.name, 'logs');
  t.same(p.args, ['pump']);
  t.equal(p.options.lines, '5');
  t.equal(p.options.follow, true);

  p = parseCommandLine(['spawn', './a/agent.json', '--isolation=process'], commands);
  t.same(p.args, ['./a/agent.json']);
  t.equal(p.options.isolation, 'process');

  p = parseCommandLine(['kill', '--signal', 'SIGKILL', '--', '7'], commands);
  t.same(p.args, ['7']);
  t.equal(p.options.signal, 'SIGKILL');
});

t.test('help', async (t) => {
  t.match(parseCommandLine(['--help'], commands), { command: undefined, help: true });
  t.match(parseCommandLine(['spawn', '-h'], commands), { command: { name: 'spawn' }, help: true }, 'no arg count check with --help');
});

t.test('usage errors', async (t) => {
  const bad: [string[], RegExp][] = [
    [[], /missing command/],
    [['frobnicate'], /unknown command "frobnicate"/],
    [['ps', '--bogus'], /ps: Unknown option '--bogus'/],
    [['ps', '--isolation', 'worker'], /Unknown option '--isolation'/],
    [['spawn'], /spawn: expected 1 argument, got 0/],
    [['kill', '1', '2'], /kill: expected 1 argument, got 2/],
    [['ps', '--socket'], /argument missing/],
  ];
  for (const [argv, message] of bad) t.throws(() => parseCommandLine(argv, commands), { name: 'UsageError', message }, argv.join(' ') || '(nothing)');
});

t.test('argument ranges', async (t) => {
  const cmd: Command = { name: 'x', summary: '', synopsis: 'x', args: [0, 2], run: async () => 0 };
  t.same(parseCommandLine(['x', 'a', 'b'], [cmd]).args, ['a', 'b']);
  t.throws(() => parseCommandLine(['x', 'a', 'b', 'c'], [cmd]), { message: 'x: expected 0 to 2 arguments, got 3' });
});
