// The bench helper runs and shows coalescing on a real file (a short run; `npm run bench` runs it longer).
import t from 'tap';
import { benchStateWrites } from './state-write-bench.ts';

t.test('10 agents at 10 Hz: writes follow the flush interval, not the update rate', async (t) => {
  const r = await benchStateWrites(t.testdir(), { seconds: 1, flushIntervalMs: 250 });
  t.ok(r.updates >= 50, `${r.updates} updates`);
  t.ok(r.writes >= 2 && r.writes <= 6, `${r.writes} writes`);
  t.ok(r.bytesPerMinute < r.naiveBytesPerMinute / 10, `${r.bytesPerMinute} B/min vs ${r.naiveBytesPerMinute} B/min writing on every update`);
});
