import t from 'tap';
import { FleetTable, formatFleetTable } from './fleet-table.ts';

const json = (v: unknown) => Buffer.from(JSON.stringify(v));

t.test("a group's boards, one row each, from the retained groups and status messages", async (t) => {
  const table = new FleetTable();
  t.ok(table.add('openstarry/b/deploy/groups', json({ groups: ['gh'] })));
  t.ok(table.add('openstarry/a/deploy/groups', json({ groups: ['gh', 'north'] })));
  t.ok(table.add('openstarry/c/deploy/groups', json({ groups: ['north'] })));
  t.ok(table.add('openstarry/a/deploy/status', json({ templateId: 'climate', version: '2.0.0', sha256: 'x', phase: 'rolled-back', reason: 'crashed\nat start', at: '2026-12-06T07:00:00.000Z' })));
  t.ok(table.add('openstarry/c/deploy/status', Buffer.from('not json')));
  t.notOk(table.add('openstarry/a/status', json({})), 'other topics are not taken');
  t.same(table.rows('gh').map((r) => r.device), ['a', 'b']);
  t.equal(table.rows('north')[1]?.problem, 'status message does not parse');
  t.equal(formatFleetTable(table.rows('gh')), [
    'DEVICE  TEMPLATE  VERSION  PHASE        AT                        REASON',
    'a       climate   2.0.0    rolled-back  2026-12-06T07:00:00.000Z  crashed at start',
    'b       -         -        -            -',
  ].join('\n'));
  // An empty retained payload clears the board's status.
  table.add('openstarry/a/deploy/status', Buffer.alloc(0));
  t.equal(table.rows('gh')[0]?.status, undefined);
});

t.test('boards under another root (a custom mqtt.topicPrefix); an oversized status is not parsed', async (t) => {
  const table = new FleetTable({ root: 'farm/north' });
  t.notOk(table.add('openstarry/a/deploy/groups', json({ groups: ['gh'] })), 'not under the root');
  t.ok(table.add('farm/north/a/deploy/groups', json({ groups: ['gh'] })));
  t.ok(table.add('farm/north/a/deploy/status', Buffer.alloc(20_000, 32)));
  t.same(table.rows('gh'), [{ device: 'a', problem: 'status message of 20000 bytes, over 16384' }]);
});
