// The orchestration config fragment: defaults, durations, and refusals with field paths.
import t from 'tap';
import { orchestrationConfigSchema } from './config.ts';

t.test('orchestration: defaults, durations, limits', async (t) => {
  t.same(orchestrationConfigSchema().parse({}), { maxConcurrentSpawns: 2, maxPending: 32, maxEventsPerSecond: 100, burst: 500, projectionIntervalMs: 10_000, snapshotTimeoutMs: 2000 });
  t.match(orchestrationConfigSchema().parse({ rules: 'orchestration.yaml', projectionInterval: '30s', snapshotTimeout: 500 }), { rules: 'orchestration.yaml', projectionIntervalMs: 30_000, snapshotTimeoutMs: 500 });
  t.match(orchestrationConfigSchema().parse({ projectionIntervalMs: 5000 }), { projectionIntervalMs: 5000 });
  const bad = orchestrationConfigSchema().safeParse({ maxConcurrentSpawns: 0, projectionInterval: '1ms', nope: 1 });
  t.notOk(bad.success);
  t.same(bad.error?.issues.map((i) => i.path.join('.')).sort(), ['', 'maxConcurrentSpawns', 'projectionInterval']);
});
