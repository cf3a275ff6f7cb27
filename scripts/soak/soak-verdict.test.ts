import t from 'tap';
import type { Sample, StreamCount } from './soak-verdict.ts';
import { judge } from './soak-verdict.ts';

const MiB = 2 ** 20;
/** One sample a second for `minutes`, RSS from `rss(t)`, fds from `fds(t)`. */
function run(minutes: number, rss: (t: number) => number, fds: (t: number) => number = () => 30): Sample[] {
  const out: Sample[] = [];
  for (let t = 0; t < minutes * 60; t++) out.push({ t, rssBytes: rss(t), treeRssBytes: rss(t), fds: fds(t) });
  return out;
}
const stream = (published: number, delivered: number, duplicates = 0): StreamCount => ({ agentId: 'a', boot: 'b', published, delivered, duplicates });

t.test('a flat run passes; warm-up growth does not count', async (t) => {
  const v = judge({ samples: run(10, (s) => (s < 180 ? 60 + s / 10 : 80) * MiB), minutes: 10, warmupMinutes: 3, streams: [stream(100, 100, 3)], queueDropped: 0 });
  t.same(v.failures, []);
  t.equal(v.rss.growthPct, 0);
  t.equal(v.duplicates, 3);
});

t.test('growth over 5 % after warm-up, a lost message, a dropped one and an fd leak all fail', async (t) => {
  const v = judge({ samples: run(10, (s) => (80 + (s > 180 ? (s - 180) / 20 : 0)) * MiB, (s) => 30 + Math.floor(s / 120)), minutes: 10, warmupMinutes: 3, streams: [stream(100, 99)], queueDropped: 2 });
  t.equal(v.lost, 1);
  t.match(v.failures, [/1 message\(s\) lost \(a\/b: 1 of 100\)/, /dropped 2/, /RSS grew/, /open fds grew after warm-up \(31 -> 34\)/]);
});

t.test('a transient fd (a poll in flight) is not growth; a run too short is not judged', async (t) => {
  const v = judge({ samples: run(6, () => 80 * MiB, (s) => (s % 7 === 0 ? 31 : 30)), minutes: 6, warmupMinutes: 3, streams: [], queueDropped: 0 });
  t.same(v.failures, []);
  t.equal(v.fds.checked, true);
  const short = judge({ samples: run(4, () => 80 * MiB), minutes: 4, warmupMinutes: 3, streams: [], queueDropped: 0 });
  t.equal(short.rss.checked, false);
});
