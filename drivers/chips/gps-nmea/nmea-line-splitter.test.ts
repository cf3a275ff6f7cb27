import t from 'tap';
import { MAX_LINE_BYTES, NmeaLineSplitter } from './nmea-line-splitter.ts';

t.test('splits on LF, strips CR, joins lines across chunks, skips empty lines', async (t) => {
  const s = new NmeaLineSplitter();
  t.same(s.push('$GPGGA,1*00\r\n$GPR'), ['$GPGGA,1*00']);
  t.same(s.push(Buffer.from('MC,2*00\r')), []);
  t.same(s.push('\n\r\n\n$A*00\n'), ['$GPRMC,2*00', '$A*00']);
});

t.test('a line over 256 bytes is dropped whole and counted; the next line is fine', async (t) => {
  const s = new NmeaLineSplitter();
  t.same(s.push('x'.repeat(200)), []);
  t.same(s.push('y'.repeat(100)), []);
  t.same(s.push('z'.repeat(5000)), [], 'memory stays bounded while discarding');
  t.same(s.push('tail\r\n$OK*00\r\n'), ['$OK*00']);
  t.equal(s.overlong, 1);
  t.same(s.push(`${'a'.repeat(MAX_LINE_BYTES)}\n`), ['a'.repeat(MAX_LINE_BYTES)], 'exactly the limit is kept');
});
