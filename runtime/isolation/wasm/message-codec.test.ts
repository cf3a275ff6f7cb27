// The VM boundary's message encoding: JSON plus a side list of buffers; and the bundler's import resolution rules.
import t from 'tap';
import { resolveTemplateImport } from './agent-bundler.ts';
import { decodeMessage, encodeMessage } from './message-codec.ts';

t.test('ArrayBuffers and typed views cross as buffers, not JSON arrays; the rest is JSON', async (t) => {
  const jpeg = new Uint8Array([0xff, 0xd8, 1, 2, 0xff, 0xd9]);
  const view = new Uint16Array([1, 2, 3]).subarray(1);
  const { json, buffers } = encodeMessage({ t: 'res', id: 3, ok: true, result: { seq: 7, jpeg: jpeg.buffer, view, nested: [{ b: new ArrayBuffer(2) }] } });
  t.equal(buffers.length, 3);
  t.notMatch(json, /255/, 'no bytes in the JSON');
  const back = decodeMessage(json, buffers) as { result: { seq: number; jpeg: ArrayBuffer; view: Uint16Array; nested: [{ b: ArrayBuffer }] } };
  t.same([...new Uint8Array(back.result.jpeg)], [...jpeg]);
  t.ok(back.result.view instanceof Uint16Array);
  t.same([...back.result.view], [2, 3], 'only the viewed part');
  t.equal(back.result.nested[0].b.byteLength, 2);
  t.same(decodeMessage(encodeMessage({ a: 'x', n: null }).json, []), { a: 'x', n: null });
  t.same(decodeMessage('{"x":{"\\u0000openstarry:buffer":9}}', []), { x: { '\u0000openstarry:buffer': 9 } }, 'a missing buffer index is never invented');
});

t.test('template imports resolve inside the snapshot only', async (t) => {
  const files = { 'main.js': '', 'lib/a.js': '', 'lib/b.mjs': '', 'pkg/index.js': '' };
  t.same(resolveTemplateImport('./lib/a.js', 'main.js', files), { path: 'lib/a.js' });
  t.same(resolveTemplateImport('./b', 'lib/a.js', files), { path: 'lib/b.mjs' });
  t.same(resolveTemplateImport('../main.js', 'lib/a.js', files), { path: 'main.js' });
  t.same(resolveTemplateImport('./pkg', 'main.js', files), { path: 'pkg/index.js' });
  t.match(resolveTemplateImport('../x.js', 'main.js', files), { refused: /leaves the template/ });
  t.match(resolveTemplateImport('node:fs', 'main.js', files), { refused: /node builtin/ });
  t.match(resolveTemplateImport('fs/promises', 'main.js', files), { refused: /node builtin/ });
  t.match(resolveTemplateImport('lodash', 'main.js', files), { refused: /package "lodash"/ });
  t.match(resolveTemplateImport('/etc/passwd', 'main.js', files), { refused: /not a path inside/ });
  t.match(resolveTemplateImport('file:///dev/mem', 'main.js', files), { refused: /not a path inside/ });
  t.match(resolveTemplateImport('https://x.example/a.js', 'main.js', files), { refused: /not a path inside/ });
  t.match(resolveTemplateImport('./nope.js', 'main.js', files), { refused: /not a \.js\/\.mjs file/ });
});
