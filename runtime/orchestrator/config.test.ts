// The config fragments for orchestration and dashboard: defaults, durations, and refusals with field paths.
import t from 'tap';
import { dashboardConfigSchema, orchestrationConfigSchema } from './config.ts';

t.test('orchestration: defaults, durations, limits', async (t) => {
  t.same(orchestrationConfigSchema.parse({}), { maxConcurrentSpawns: 2, maxPending: 32, maxEventsPerSecond: 100, burst: 500, projectionIntervalMs: 10_000, snapshotTimeoutMs: 2000 });
  t.match(orchestrationConfigSchema.parse({ rules: 'orchestration.yaml', projectionInterval: '30s', snapshotTimeout: 500 }), { rules: 'orchestration.yaml', projectionIntervalMs: 30_000, snapshotTimeoutMs: 500 });
  t.match(orchestrationConfigSchema.parse({ projectionIntervalMs: 5000 }), { projectionIntervalMs: 5000 });
  const bad = orchestrationConfigSchema.safeParse({ maxConcurrentSpawns: 0, projectionInterval: '1ms', nope: 1 });
  t.notOk(bad.success);
  t.same(bad.error?.issues.map((i) => i.path.join('.')).sort(), ['', 'maxConcurrentSpawns', 'projectionInterval']);
});

t.test('dashboard: listen address, false, enabled', async (t) => {
  t.same(dashboardConfigSchema.parse({}), { enabled: true, listen: '127.0.0.1:8080' });
  t.same(dashboardConfigSchema.parse({ listen: '0.0.0.0:9000' }), { enabled: true, listen: '0.0.0.0:9000' });
  t.same(dashboardConfigSchema.parse(false), { enabled: false });
  t.same(dashboardConfigSchema.parse({ enabled: false }), { enabled: false });
  const bad = dashboardConfigSchema.safeParse({ listen: '8080' });
  t.notOk(bad.success);
  t.match(JSON.stringify(bad.error?.issues), /not a listen address/);
});
