// The `homeassistant` config section: off by default, the documented defaults, durations, and bad values named by
// field (the daemon's own schema carries the fragment, so `openstarry validate` prints these).
import t from 'tap';
import { configSchema } from '../daemon/config-schema.ts';

const parse = (homeassistant: unknown) => configSchema().safeParse(homeassistant === undefined ? {} : { homeassistant });

t.test('defaults: off, prefix homeassistant, 30 s', async (t) => {
  t.same(parse(undefined).data?.homeassistant, { enabled: false, prefix: 'homeassistant', intervalMs: 30_000 });
  t.same(parse({ enabled: true }).data?.homeassistant, { enabled: true, prefix: 'homeassistant', intervalMs: 30_000 });
  t.same(parse({ enabled: true, prefix: 'ha/board', interval: '2m' }).data?.homeassistant, { enabled: true, prefix: 'ha/board', intervalMs: 120_000 });
  t.same(parse({ interval: 5000 }).data?.homeassistant.intervalMs, 5000);
});

t.test('bad values fail with the field and the reason', async (t) => {
  const issues = (v: unknown) => parse(v).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];
  t.match(issues({ interval: '10ms' }), [/^homeassistant\.interval: "10ms" must be a duration between 1s and 1h/]);
  t.match(issues({ interval: 'soon' }), [/^homeassistant\.interval: "soon" must be a duration/]);
  t.match(issues({ prefix: 'home/#' }), [/^homeassistant\.prefix: must be topic levels/]);
  t.match(issues({ prefix: '/ha' }), [/^homeassistant\.prefix: /]);
  t.match(issues({ enabled: 'yes' }), [/^homeassistant\.enabled: /]);
  t.match(issues({ prefx: 'x' }), [/^homeassistant: Unrecognized key: "prefx"/]);
});
