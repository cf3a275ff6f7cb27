// `openstarry design-layer serve`: argument checking, and the service running in-process until Ctrl-C.
import t from 'tap';
import { parseListen } from './commands/design-layer.ts';
import { main } from './main.ts';
import { captureIo } from './test-io.ts';

t.test('--listen forms', async (t) => {
  t.same(parseListen('0.0.0.0:7410'), { host: '0.0.0.0', port: 7410 });
  t.same(parseListen(':8080'), { host: '127.0.0.1', port: 8080 });
  t.same(parseListen('9000'), { host: '127.0.0.1', port: 9000 });
  t.same(parseListen('[::1]:7410'), { host: '::1', port: 7410 });
  for (const bad of ['', 'host', 'h:99999', 'h:-1', 'a b:1']) t.throws(() => parseListen(bad), { name: 'UsageError' }, bad);
});

t.test('usage errors exit 2', async (t) => {
  let io = captureIo();
  t.equal(await main(['design-layer', 'serve'], io), 2);
  t.match(io.stderr.join('\n'), '--dir DIR is required');
  io = captureIo();
  t.equal(await main(['design-layer', 'publish', '--dir', '.'], io), 2);
  t.match(io.stderr.join('\n'), 'unknown subcommand "publish"');
  io = captureIo();
  t.equal(await main(['design-layer', 'serve', '--dir', '.', '--listen', 'nope'], io), 2);
});

t.test('serve: lists what it serves, answers, and exits 0 on Ctrl-C; a missing folder exits 1', async (t) => {
  const dir = t.testdir({ a: { 'agent.json': JSON.stringify({ id: 'a', version: '1.0.0', plugins: ['./m.js'] }), 'm.js': 'export default { name: "m", start() {} };' } });
  const io = captureIo(dir);
  const exit = main(['design-layer', 'serve', '--dir', '.', '--listen', '127.0.0.1:0'], io);
  await io.interruptible;
  const url = /on (http:\S+)/.exec(io.stdout.join('\n'))?.[1];
  t.match(io.stdout.join('\n'), `design layer serving 1 template(s) from ${dir} on http://127.0.0.1:`);
  const listing = (await (await fetch(`${url}/templates`)).json()) as { templates: { id: string }[] };
  t.same(listing.templates.map((x) => x.id), ['a']);
  io.interrupt();
  t.equal(await exit, 0);

  const missing = captureIo(dir);
  t.equal(await main(['design-layer', 'serve', '--dir', 'nope', '--listen', '127.0.0.1:0'], missing), 1);
  t.match(missing.stderr.join('\n'), 'cannot be read');
});
