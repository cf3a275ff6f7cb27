// The bench's measuring helpers: how many rounds a row runs, a process's CPU time read from /proc (no timing
// asserted: only that the figure is read and grows with work done), and no stray process when one of two fails.
import t from 'tap';
import { spawn } from 'node:child_process';
import { bootInTurn, cpuSeconds, median, percentile, rounds, startedTogether } from './measure.ts';

t.test('rounds: BENCH_ROUNDS when it is a positive integer, else 5 fast / 3 slow', async (t) => {
  t.equal(rounds('fast', {}), 5);
  t.equal(rounds('slow', {}), 3);
  t.equal(rounds('slow', { BENCH_ROUNDS: '7' }), 7);
  t.equal(rounds('fast', { BENCH_ROUNDS: '0' }), 5);
  t.equal(rounds('fast', { BENCH_ROUNDS: 'many' }), 5);
});

t.test('percentile and median', async (t) => {
  t.equal(median([3, 1, 2]), 2);
  t.equal(percentile([1, 2, 3, 4], 99), 4);
  t.ok(Number.isNaN(median([])));
});

t.test('cpuSeconds reads utime + stime of a process and grows with work', async (t) => {
  const before = await cpuSeconds(process.pid);
  let x = 0;
  const until = process.cpuUsage().user + 300_000;
  while (process.cpuUsage().user < until) x += Math.sqrt(x + 1);
  const after = await cpuSeconds(process.pid);
  t.ok(before > 0 && after > before, `${before} s -> ${after} s`);
});

t.test('startedTogether: when one start fails, the started one is stopped and the failure is thrown', async (t) => {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  const exited = new Promise((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
  await t.rejects(startedTogether([Promise.resolve({ child }), Promise.reject(new Error('no ready line'))] as const), /no ready line/);
  t.equal(await exited, 'SIGKILL');
  const both = await startedTogether([Promise.resolve({ child, n: 1 }), Promise.resolve({ child, n: 2 })] as const);
  t.same(both.map((b) => b.n), [1, 2]);
});

t.test('bootInTurn: base then ours each round, each stopped before the next; the first round is not counted', async (t) => {
  const order: string[] = [];
  const start = (who: string, ms: (round: number) => number) => async (round: number) => {
    order.push(`${who}${round}`);
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    await new Promise((resolve) => child.once('spawn', resolve));
    return { child, ms: ms(round) };
  };
  const medians = await bootInTurn(3, start('ours', (r) => (r === 0 ? 1000 : r * 10)), start('base', (r) => (r === 0 ? 1000 : r)));
  t.same(medians, { ours: 20, base: 2 });
  t.same(order, ['base0', 'ours0', 'base1', 'ours1', 'base2', 'ours2', 'base3', 'ours3']);
});
