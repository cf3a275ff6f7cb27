// JOURNAL_STREAM (systemd.exec(5)) against real files: stderr counts as the journal only when its fstat device and
// inode are the ones the variable names.
import { closeSync, openSync, statSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { stderrIsJournal } from './journal-stream.ts';

t.test('matches only the file whose device:inode JOURNAL_STREAM names', async (t) => {
  const dir = t.testdir({ 'journal.log': '', 'other.log': '' });
  const journal = openSync(path.join(dir, 'journal.log'), 'a');
  const other = openSync(path.join(dir, 'other.log'), 'a');
  t.teardown(() => {
    closeSync(journal);
    closeSync(other);
  });
  const st = statSync(path.join(dir, 'journal.log'));
  const env = { JOURNAL_STREAM: `${st.dev}:${st.ino}` };
  t.equal(stderrIsJournal(env, journal), true);
  t.equal(stderrIsJournal(env, other), false, 'another file: a redirected stderr');
  t.equal(stderrIsJournal({}, journal), false, 'unset');
  t.equal(stderrIsJournal({ JOURNAL_STREAM: '' }, journal), false);
  t.equal(stderrIsJournal({ JOURNAL_STREAM: `${st.dev}` }, journal), false, 'malformed');
  t.equal(stderrIsJournal({ JOURNAL_STREAM: `${st.dev}:${st.ino}:1` }, journal), false, 'malformed');
  t.equal(stderrIsJournal({ JOURNAL_STREAM: `x:${st.ino}` }, journal), false, 'malformed');
  t.equal(stderrIsJournal({ JOURNAL_STREAM: `${st.dev}:${st.ino + 1}` }, journal), false, 'another inode');
  const closed = openSync(path.join(dir, 'other.log'), 'r');
  closeSync(closed);
  t.equal(stderrIsJournal(env, closed), false, 'a closed descriptor');
});
