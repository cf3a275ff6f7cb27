// The dashboard config fragment: the listen address, false, enabled, and a refusal naming what is wrong.
import t from 'tap';
import { dashboardConfigSchema } from './config.ts';

t.test('dashboard: listen address, false, enabled', async (t) => {
  t.same(dashboardConfigSchema().parse({}), { enabled: true, listen: '127.0.0.1:8080', sampleIntervalMs: 5000 });
  t.same(dashboardConfigSchema().parse({ listen: '0.0.0.0:9000' }), { enabled: true, listen: '0.0.0.0:9000', sampleIntervalMs: 5000 });
  t.same(dashboardConfigSchema().parse({ tokenFile: '/etc/openstarry/dashboard-token', sampleIntervalMs: 2000 }), { enabled: true, listen: '127.0.0.1:8080', sampleIntervalMs: 2000, tokenFile: '/etc/openstarry/dashboard-token' });
  t.notOk(dashboardConfigSchema().safeParse({ sampleIntervalMs: 10 }).success, 'a sample interval under 1 s is refused');
  t.notOk(dashboardConfigSchema().safeParse({ tokenFile: '' }).success, 'an empty token file name is refused');
  t.same(dashboardConfigSchema().parse(false), { enabled: false });
  t.same(dashboardConfigSchema().parse({ enabled: false }), { enabled: false });
  const bad = dashboardConfigSchema().safeParse({ listen: '8080' });
  t.notOk(bad.success);
  t.match(JSON.stringify(bad.error?.issues), /not a listen address/);
});
