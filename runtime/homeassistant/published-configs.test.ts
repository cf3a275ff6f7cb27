// The record of published discovery configs: which topics to clear at boot, which to keep (a configured device that
// failed to start keeps its entities), and a record file that does not parse being ignored with a problem, not thrown.
import { writeFile } from 'node:fs/promises';
import t from 'tap';
import { PublishedConfigs, reconcile } from './published-configs.ts';
import { tempFile } from './ha.test-support.ts';

t.test('reconcile: gone devices are cleared, failed devices kept, a changed prefix clears the old topics', async (t) => {
  const previous = { env0: ['ha/sensor/b/env0_temperature/config'], pump: ['ha/switch/b/pump/config'], cam: ['ha/sensor/b/cam_x/config'], _board: ['ha/sensor/b/_board_queue/config'] };
  const current = { env0: ['ha/sensor/b/env0_temperature/config'], _board: ['hass/sensor/b/_board_queue/config'] };
  const { stale, record } = reconcile(previous, current, new Set(['cam']));
  t.same(stale.sort(), ['ha/sensor/b/_board_queue/config', 'ha/switch/b/pump/config']);
  t.same(record, { ...current, cam: ['ha/sensor/b/cam_x/config'] }, 'the failed device keeps its topics in the record');
  t.same(reconcile({}, current, new Set()).stale, [], 'a first boot clears nothing');
});

t.test('the record survives a write and read; a corrupt file is ignored with a problem', async (t) => {
  const file = tempFile(t, 'homeassistant.json');
  const record = new PublishedConfigs(file);
  t.same(await record.read(), { topics: {} }, 'no file: nothing published before');
  await record.write({ fan: ['homeassistant/switch/dev1/fan/config'] });
  t.same(await new PublishedConfigs(file).read(), { topics: { fan: ['homeassistant/switch/dev1/fan/config'] } });
  await writeFile(file, '{"topics": ');
  const bad = await new PublishedConfigs(file).read();
  t.same(bad.topics, {});
  t.match(bad.problem, /homeassistant\.json: .*JSON/);
  await writeFile(file, '{"topics": {"fan": ["ok", 3, ""], "x": "nope"}}');
  t.same((await new PublishedConfigs(file).read()).topics, { fan: ['ok'] }, 'only strings are taken');
});
