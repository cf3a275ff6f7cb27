// The registry of installed templates and plugins: id, version, path, content hash; validated, coalesced, persisted.
import { createHash } from 'node:crypto';
import path from 'node:path';
import t from 'tap';
import { ErrorCode, OpenStarryError } from '../errors.ts';
import { ManualClock } from './manual-clock.test-support.ts';
import { PowerCutFs } from './power-cut-fs.test-support.ts';
import { StateDb } from './state-db.ts';
import { contentHash } from './state-registry.ts';
import type { RegistryEntry } from './state-schema.ts';

const thermostat: RegistryEntry = { id: 'thermostat', version: '1.0.0', path: 'agents/thermostat/agent.json', hash: contentHash('{"id":"thermostat"}') };
const master: RegistryEntry = { id: 'master-agent', version: '0.1.0', path: 'agents/master/agent.json', hash: contentHash(new Uint8Array([1, 2, 3])) };

t.test('contentHash is sha256:<hex> of the bytes', async (t) => {
  t.equal(contentHash('abc'), `sha256:${createHash('sha256').update('abc').digest('hex')}`);
  t.equal(contentHash('abc'), contentHash(Buffer.from('abc')));
  t.match(contentHash(''), /^sha256:[0-9a-f]{64}$/);
});

t.test('replace, upsert, get, remove, list — per kind', async (t) => {
  const db = await StateDb.open({ file: '/s/state.json', clock: new ManualClock(), fs: new PowerCutFs('/s') });
  db.registry.replace('templates', [thermostat]);
  db.registry.upsert('templates', master);
  t.same(db.registry.list('templates'), [thermostat, master]);
  t.same(db.registry.list('plugins'), []);
  const v2 = { ...thermostat, version: '1.1.0', hash: contentHash('v2') };
  db.registry.upsert('templates', v2);
  t.same(db.registry.get('templates', 'thermostat'), v2, 'upsert replaces by id');
  t.same(db.registry.list('templates').map((e) => e.id), ['thermostat', 'master-agent'], 'in place');
  t.equal(db.registry.remove('templates', 'master-agent'), true);
  t.equal(db.registry.remove('templates', 'master-agent'), false);
  t.equal(db.registry.get('templates', 'master-agent'), undefined);
  db.registry.upsert('plugins', { ...master, id: 'thermostat.js', path: 'agents/thermostat/thermostat.js' });
  t.equal(db.registry.list('plugins').length, 1);
  const copy = db.registry.list('templates');
  copy.pop();
  t.equal(db.registry.list('templates').length, 1, 'list hands out copies');
  await db.close();
});

t.test('invalid entries are ERR_STATE_INVALID and change nothing', async (t) => {
  const db = await StateDb.open({ file: '/s/state.json', clock: new ManualClock(), fs: new PowerCutFs('/s') });
  const bad: [string, () => void][] = [
    ['hash format', () => db.registry.upsert('templates', { ...thermostat, hash: 'md5:abc' })],
    ['empty id', () => db.registry.upsert('plugins', { ...thermostat, id: '' })],
    ['missing path', () => db.registry.upsert('plugins', { ...thermostat, path: undefined } as unknown as RegistryEntry)],
    ['duplicate ids', () => db.registry.replace('templates', [thermostat, thermostat])],
  ];
  for (const [name, fn] of bad) {
    try {
      fn();
      t.fail(`${name} accepted`);
    } catch (err) {
      t.ok(err instanceof OpenStarryError && err.code === ErrorCode.STATE_INVALID, name);
      t.match((err as Error).message, /^registry (templates|plugins): /, name);
    }
  }
  t.equal(db.stats.dirty, false);
  await db.close();
});

t.test('an unchanged registry is not a change; a change is coalesced and persisted', async (t) => {
  const file = path.join(t.testdir(), 'state.json');
  const clock = new ManualClock();
  const db = await StateDb.open({ file, clock });
  db.registry.replace('templates', [thermostat, master]);
  t.equal(db.stats.writes, 0, 'coalesced');
  await db.flush();
  db.registry.replace('templates', [{ ...thermostat }, { ...master }]);
  db.registry.upsert('templates', { ...master });
  t.equal(db.stats.dirty, false, 'a boot re-registering the same templates costs no write');
  await db.close();
  const again = await StateDb.open({ file, clock });
  t.same(again.registry.list('templates'), [thermostat, master]);
  await again.close();
});
