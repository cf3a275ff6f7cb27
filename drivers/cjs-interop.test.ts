import t from 'tap';
import { cjsExport } from './cjs-interop.ts';

t.test('a named export from Node\'s loader, or from default (esbuild split chunks), else undefined', async (t) => {
  class SerialPort {}
  t.equal(cjsExport({ SerialPort }, 'SerialPort'), SerialPort, 'named (Node loads the package itself)');
  t.equal(cjsExport({ default: { SerialPort } }, 'SerialPort'), SerialPort, 'only default (a split chunk of the bundle)');
  t.equal(cjsExport({ default: {} }, 'SerialPort'), undefined);
  t.equal(cjsExport(await import('node:path'), 'join'), (await import('node:path')).join, 'a real module namespace');
});
