import t from 'tap';
import { LineFramer } from './json-lines.ts';

function framer(max: number): { lines: string[]; overflows: number; f: LineFramer } {
  const out = { lines: [] as string[], overflows: 0, f: undefined as unknown as LineFramer };
  out.f = new LineFramer(max, (l) => out.lines.push(l), () => (out.overflows += 1));
  return out;
}

t.test('splits lines across chunks and decodes split UTF-8', async (t) => {
  const x = framer(100);
  const euro = Buffer.from('€');
  x.f.push(Buffer.concat([Buffer.from('{"a":1}\n{"b":"'), euro.subarray(0, 1)]));
  x.f.push(Buffer.concat([euro.subarray(1), Buffer.from('"}\r\n\n  \n{"c"')]));
  x.f.push(Buffer.from(':3}\n'));
  t.same(x.lines, ['{"a":1}', '{"b":"€"}', '{"c":3}']);
});

t.test('a line of max bytes passes; one byte more overflows once and stops reading', async (t) => {
  const ok = framer(4);
  ok.f.push(Buffer.from('abcd\n'));
  t.same(ok.lines, ['abcd']);

  const over = framer(4);
  over.f.push(Buffer.from('ab'));
  over.f.push(Buffer.from('cde'));
  t.equal(over.overflows, 1);
  t.ok(over.f.overflowed);
  over.f.push(Buffer.from('\nfine\n'));
  t.same(over.lines, [], 'nothing after an overflow is delivered');
  t.equal(over.overflows, 1);
});
