// AgentLogBook: bounded per-pid rings, reads and follows by pid or by agent id, and a bound on the number of books.
import t from 'tap';
import type { LogLine } from './log-line.ts';
import { AgentLogBook } from './agent-log-book.ts';

let clock = 0;
function line(pid: string, agentId: string, message: string, level: LogLine['level'] = 'info'): LogLine {
  clock += 1;
  return { time: new Date(clock * 1000).toISOString(), pid, agentId, level, message };
}
const messages = (lines: LogLine[]) => lines.map((l) => l.message);

t.test('each pid keeps only its last N lines', async (t) => {
  const book = new AgentLogBook(3);
  for (let i = 1; i <= 5; i++) book.append(line('1', 'a', `a${i}`));
  book.append(line('2', 'b', 'b1'));
  t.same(messages(book.read('1', 100)), ['a3', 'a4', 'a5'], 'oldest dropped');
  t.same(messages(book.read('2', 100)), ['b1'], 'another pid is not affected');
});

t.test('read by pid: the last `lines` lines, oldest first', async (t) => {
  const book = new AgentLogBook();
  for (let i = 1; i <= 5; i++) book.append(line('7', 'x', `m${i}`));
  t.same(messages(book.read('7', 2)), ['m4', 'm5']);
  t.same(messages(book.read('7', 5)), ['m1', 'm2', 'm3', 'm4', 'm5']);
  t.same(messages(book.read('7', 50)), ['m1', 'm2', 'm3', 'm4', 'm5']);
  t.same(book.read('7', 0), []);
  t.same(book.read('nobody', 10), [], 'unknown target: nothing');
  const copy = book.read('7', 10);
  copy.length = 0;
  t.equal(book.read('7', 10).length, 5, 'the result is a copy');
});

t.test('read by agent id: every instance of that agent, oldest instance first', async (t) => {
  const book = new AgentLogBook();
  book.append(line('1', 'sensor', 's1-a'));
  book.append(line('2', 'other', 'o'));
  book.append(line('1', 'sensor', 's1-b'));
  book.append(line('3', 'sensor', 's3-a'));
  t.same(messages(book.read('sensor', 10)), ['s1-a', 's1-b', 's3-a']);
  t.same(messages(book.read('sensor', 2)), ['s1-b', 's3-a'], 'the last lines across instances');
  t.same(messages(book.read('other', 10)), ['o']);
});

t.test('knows(): by pid or agent id', async (t) => {
  const book = new AgentLogBook();
  t.notOk(book.knows('1'));
  book.append(line('1', 'sensor', 'x'));
  t.ok(book.knows('1'));
  t.ok(book.knows('sensor'));
  t.notOk(book.knows('2'));
  t.notOk(book.knows('other'));
});

t.test('followers by pid and by agent id get new lines; unsubscribe stops them', async (t) => {
  const book = new AgentLogBook();
  const byPid: string[] = [];
  const byAgent: string[] = [];
  const other: string[] = [];
  book.append(line('1', 'sensor', 'before'));
  const offPid = book.follow('1', (l) => byPid.push(l.message));
  const offAgent = book.follow('sensor', (l) => byAgent.push(l.message));
  const offOther = book.follow('2', (l) => other.push(l.message));
  book.append(line('1', 'sensor', 'one'));
  book.append(line('3', 'sensor', 'three'));
  book.append(line('4', 'nobody', 'four'));
  t.same(byPid, ['one'], 'backlog is not replayed; only pid 1');
  t.same(byAgent, ['one', 'three'], 'every instance of the agent');
  t.same(other, []);

  offPid();
  book.append(line('1', 'sensor', 'after-pid-off'));
  t.same(byPid, ['one']);
  t.same(byAgent, ['one', 'three', 'after-pid-off']);
  offAgent();
  offAgent();
  book.append(line('1', 'sensor', 'after-all-off'));
  t.same(byAgent, ['one', 'three', 'after-pid-off'], 'unsubscribing twice is harmless');
  offOther();
});

t.test('several followers on one target; removing one keeps the others', async (t) => {
  const book = new AgentLogBook();
  const a: string[] = [];
  const b: string[] = [];
  const offA = book.follow('1', (l) => a.push(l.message));
  book.follow('1', (l) => b.push(l.message));
  book.append(line('1', 'x', 'm1'));
  offA();
  book.append(line('1', 'x', 'm2'));
  t.same(a, ['m1']);
  t.same(b, ['m1', 'm2']);
});

t.test('a follower can be registered before the agent has any line', async (t) => {
  const book = new AgentLogBook();
  const got: string[] = [];
  book.follow('future', (l) => got.push(l.message));
  book.append(line('9', 'future', 'hello'));
  t.same(got, ['hello']);
});

t.test('at most maxBooks books: the oldest instance goes first', async (t) => {
  const book = new AgentLogBook(10, 2);
  book.append(line('1', 'a', 'one'));
  book.append(line('2', 'b', 'two'));
  book.append(line('1', 'a', 'one-again'));
  t.ok(book.knows('1'));
  book.append(line('3', 'c', 'three'));
  t.notOk(book.knows('1'), 'pid 1 (first book) trimmed');
  t.notOk(book.knows('a'));
  t.same(book.read('1', 10), []);
  t.same(messages(book.read('2', 10)), ['two']);
  t.same(messages(book.read('3', 10)), ['three']);
  book.append(line('4', 'd', 'four'));
  t.notOk(book.knows('2'));
  t.ok(book.knows('3'));
  t.ok(book.knows('4'));
});
