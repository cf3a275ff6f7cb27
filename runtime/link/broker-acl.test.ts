// The embedded broker's ACL (broker-acl.ts) against mosquitto 2.0's rules for acl_file (mosquitto.conf(5)):
// anonymous and per-user entries, patterns with %c/%u, deny first, `$` topics, malformed lines.
import t from 'tap';
import { BrokerAcl, MAX_ACL_ENTRIES } from './broker-acl.ts';

const FILE = [
  '# anonymous clients',
  'topic read openstarry/board/status',
  '',
  'user ops',
  'topic readwrite openstarry/#',
  'topic deny openstarry/board/state/secret',
  'topic write lab/+/cmd',
  'user sensor-bridge',
  'topic write openstarry/board/event/#',
  'topic openstarry/board/state/#',
  'user with space',
  'topic read a b/#',
  'pattern read devices/%c/#',
  'pattern readwrite users/%u/#',
  'pattern deny devices/+/private',
  'topic read $SYS/broker/uptime',
].join('\n');

const acl = BrokerAcl.parse(FILE, '/etc/openstarry/broker-acl');
const anon = { id: 'anon-1', username: undefined };
const ops = { id: 'ops-laptop', username: 'ops' };
const bridge = { id: 'bridge', username: 'sensor-bridge' };

t.test('entries before any user line are the anonymous clients\'; others get nothing from them', async (t) => {
  t.ok(acl.allows(anon, 'openstarry/board/status', 'read'));
  t.notOk(acl.allows(anon, 'openstarry/board/status', 'write'), 'read only');
  t.notOk(acl.allows(anon, 'openstarry/board/state/x', 'read'), 'nothing granted: denied');
  t.notOk(acl.allows(bridge, 'openstarry/board/status', 'read'), 'a user does not inherit the anonymous entries');
});

t.test('a user\'s entries: deny is checked before any grant, whatever the order in the file', async (t) => {
  t.ok(acl.allows(ops, 'openstarry/board/state/x', 'read'));
  t.ok(acl.allows(ops, 'openstarry/board/cmd/status', 'write'));
  t.notOk(acl.allows(ops, 'openstarry/board/state/secret', 'read'), 'deny listed after the grant still wins');
  t.ok(acl.allows(ops, 'lab/bench/cmd', 'write'));
  t.notOk(acl.allows(ops, 'lab/bench/cmd', 'read'), 'write only');
  t.ok(acl.allows(bridge, 'openstarry/board/event/temp', 'write'));
  t.notOk(acl.allows(bridge, 'openstarry/board/event/temp', 'read'));
  t.ok(acl.allows(bridge, 'openstarry/board/state/a/b', 'read'), 'no access word: readwrite');
  t.ok(acl.allows({ id: 'x', username: 'with space' }, 'a b/c', 'read'), 'usernames and filters may hold spaces');
  t.notOk(acl.allows({ id: 'x', username: 'nobody' }, 'openstarry/board/status', 'read'), 'a user not in the file: only patterns');
});

t.test('patterns: %c and %u as whole levels, %u never for anonymous clients, + or # in an id or username denied', async (t) => {
  t.ok(acl.allows({ id: 'pump-7', username: undefined }, 'devices/pump-7/temp', 'read'));
  t.notOk(acl.allows({ id: 'pump-7', username: undefined }, 'devices/pump-8/temp', 'read'), "another client's topic");
  t.notOk(acl.allows({ id: 'pump-7', username: undefined }, 'devices/pump-7/private', 'read'), 'a pattern deny first');
  t.ok(acl.allows(bridge, 'users/sensor-bridge/inbox', 'write'));
  t.notOk(acl.allows(anon, 'users/%u/inbox', 'read'), 'no username: the %u pattern does not apply');
  t.notOk(acl.allows({ id: '#', username: undefined }, 'devices/a/temp', 'read'), 'client id # would read every device');
  t.notOk(acl.allows({ id: 'x', username: '+' }, 'users/a/inbox', 'read'));
  t.ok(acl.allows(ops, 'openstarry/x', 'read'), "a user's own grant is decided before the patterns");
});

t.test('$ topics match only entries that start with $', async (t) => {
  t.notOk(acl.allows(ops, '$SYS/broker/uptime', 'read'), 'openstarry/# never reaches $SYS');
  t.ok(acl.allows({ id: 'x', username: 'with space' }, '$SYS/broker/uptime', 'read'), 'the last user line still holds: its own $ entry');
  const all = BrokerAcl.parse('topic read #\n', 'f');
  t.ok(all.allows(anon, 'any/thing', 'read'));
  t.notOk(all.allows(anon, '$SYS/broker/clients', 'read'), '# does not match a $ topic');
});

t.test('a malformed file fails with the file, the line and the reason', async (t) => {
  const cases: [string, RegExp][] = [
    ['topic\n', /f line 1: "topic" needs a topic filter/],
    ['user\n', /f line 1: "user" needs a username/],
    ['# ok\ntopic rw a/b\n', /f line 2: the access must be read, write, readwrite or deny, not "rw"/],
    ['topic read a/#/b\n', /f line 1: invalid MQTT topic "a\/#\/b": "#" must be a whole level and the last one/],
    ['topic read a+/b\n', /f line 1: .*"\+" must be a whole level/],
    ['allow a/b\n', /f line 1: unknown keyword "allow": expected topic, pattern or user/],
  ];
  for (const [text, why] of cases) t.throws(() => BrokerAcl.parse(text, 'f'), { code: 'ERR_LINK_CONFIG', message: why }, JSON.stringify(text));
  t.throws(() => BrokerAcl.parse('topic a\n'.repeat(MAX_ACL_ENTRIES + 1), 'f'), { message: new RegExp(`line ${MAX_ACL_ENTRIES + 1}: more than ${MAX_ACL_ENTRIES} entries`) });
  t.doesNotThrow(() => BrokerAcl.parse('\r\n  # indented comment\r\ntopic a/b\r\n', 'f'), 'CRLF and indented comments');
});

t.test('patterns give nothing to an id or username that is empty or holds / (it would reach into another client\'s level)', async (t) => {
  const p = BrokerAcl.parse('pattern readwrite devices/%c/#\npattern read users/%u/#\nuser ops\ntopic read ops/#\n', 'f');
  t.ok(p.allows({ id: 'cam1', username: undefined }, 'devices/cam1/cmd/x', 'write'));
  t.notOk(p.allows({ id: 'cam1/cmd', username: undefined }, 'devices/cam1/cmd/x', 'write'), "'cam1/cmd' would expand into cam1's own topics");
  t.notOk(p.allows({ id: 'x', username: 'a/b' }, 'users/a/b/inbox', 'read'));
  t.notOk(p.allows({ id: 'x', username: '' }, 'users//inbox', 'read'), 'an empty username');
  t.ok(p.allows({ id: 'bad/id', username: 'ops' }, 'ops/x', 'read'), "a user's own entries still apply");
  t.notOk(p.allows({ id: 'x', username: undefined }, 'a/x-raw', 'read'), 'whole levels only');
  t.notOk(BrokerAcl.parse('pattern read a/%c-raw\n', 'f').allows({ id: 'x', username: undefined }, 'a/x-raw', 'read'), '%c inside a level is taken literally');
});
