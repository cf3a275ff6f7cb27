// The record of applied fleet documents (applied-store.ts): a record that cannot be read or parsed is a problem to
// report and an empty start, never a thrown error (the fleet starts after READY and must not stop the daemon).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { AppliedStore } from './applied-store.ts';

t.test('a record that is a folder (unreadable) or not JSON: reported in problem, started empty', async (t) => {
  const dir = t.testdir();
  const unreadable = path.join(dir, 'a.json');
  mkdirSync(unreadable);
  const a = new AppliedStore(unreadable);
  t.match(await a.load(), { problem: /a\.json: .*EISDIR/ });
  t.equal(a.get('climate'), undefined);
  const garbled = path.join(dir, 'b.json');
  writeFileSync(garbled, '{ not json');
  t.match(await new AppliedStore(garbled).load(), { problem: /b\.json: / });
  t.same(await new AppliedStore(path.join(dir, 'none.json')).load(), {}, 'no file yet: no problem');
});
