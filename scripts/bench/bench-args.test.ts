// The bench's command line: the lean selection, --only (comma-separated or repeated), --out resolved against the
// repository, and typos refused with the known ids.
import t from 'tap';
import { parseBenchArgs, selectBenches } from './bench-args.ts';

const KNOWN = ['boot', 'idle-rss', 'camera'];
const BENCHES = [
  { id: 'boot', lean: true },
  { id: 'idle-rss', lean: true },
  { id: 'camera', lean: false },
];

t.test('no arguments: everything, JSON to bench/results.json', async (t) => {
  const a = parseBenchArgs([], '/repo', KNOWN);
  t.same(a, { lean: false, only: [], out: '/repo/bench/results.json', list: false, help: false });
  t.same(selectBenches(BENCHES, a).map((b) => b.id), ['boot', 'idle-rss', 'camera']);
});

t.test('lean: only the lean benchmarks; --only narrows to the ids given, in declared order', async (t) => {
  t.same(selectBenches(BENCHES, parseBenchArgs(['lean'], '/repo', KNOWN)).map((b) => b.id), ['boot', 'idle-rss']);
  const only = parseBenchArgs(['lean', '--only', 'idle-rss,boot'], '/repo', KNOWN);
  t.same(only.only, ['idle-rss', 'boot']);
  t.same(selectBenches(BENCHES, only).map((b) => b.id), ['boot', 'idle-rss']);
  t.same(parseBenchArgs(['--only', 'camera', '--only', 'boot'], '/repo', KNOWN).only, ['camera', 'boot']);
});

t.test('--out is resolved against the repository root', async (t) => {
  t.equal(parseBenchArgs(['--out', 'x/r.json'], '/repo', KNOWN).out, '/repo/x/r.json');
  t.equal(parseBenchArgs(['--out', '/tmp/r.json'], '/repo', KNOWN).out, '/tmp/r.json');
});

t.test('an unknown id, word or option is an error naming it', async (t) => {
  t.throws(() => parseBenchArgs(['--only', 'bot'], '/repo', KNOWN), /--only bot: no such benchmark \(known: boot, idle-rss, camera\)/);
  t.throws(() => parseBenchArgs(['leen'], '/repo', KNOWN), /leen: unknown argument/);
  t.throws(() => parseBenchArgs(['--fast'], '/repo', KNOWN), { code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION' });
});
