// The queue's CRC-32 (queue-log-format.ts) is zlib's IEEE CRC-32 computed in JavaScript: the check value of the
// standard, and byte for byte what zlib computes, so queue files written by earlier builds (which used zlib.crc32
// where Node had it) still verify.
import { randomBytes } from 'node:crypto';
import * as zlib from 'node:zlib';
import t from 'tap';
import { crc32 } from './queue-log-format.ts';

t.test('the CRC-32/ISO-HDLC check value: crc32("123456789") = 0xCBF43926', async (t) => {
  t.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
  t.equal(crc32(new Uint8Array(0)), 0);
});

const native = (zlib as { crc32?: (d: Uint8Array) => number }).crc32;
t.test('equal to zlib.crc32 on empty, short, long and every single-byte input', { skip: native ? false : `this Node (${process.version}) has no zlib.crc32` }, async (t) => {
  if (!native) return;
  const inputs = [Buffer.alloc(0), ...Array.from({ length: 256 }, (_, b) => Buffer.from([b])), randomBytes(7), randomBytes(300), randomBytes(70_000)];
  const differing = inputs.filter((input) => crc32(input) !== native(input)).length;
  t.equal(differing, 0, `${inputs.length} inputs`);
});
