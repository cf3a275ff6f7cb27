// `openstarry deploy pack` (README "Deploying updates"): writes a bundle a board accepts, with a real openssl key;
// usage errors exit 2; an invalid template or a key of the wrong kind exits 1 with the reason.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { requireTool } from '../../scripts/testing/system-deps.ts';
import { makeKey } from '../design/bundle-keys.test-support.ts';
import { loadTrustedKeys, verifyBundle } from '../design/bundle.ts';
import { main } from './main.ts';
import { captureIo } from './test-io.ts';

const template = (id: string, plugins = ['./m.js']) => ({ 'agent.json': JSON.stringify({ id, version: '2.0.1', plugins }), 'm.js': 'export default { name: "m", start() {} };' });

t.test('usage errors exit 2', async (t) => {
  let io = captureIo();
  t.equal(await main(['deploy', 'pack', '--key', 'k.pem'], io), 2);
  t.match(io.stderr.join('\n'), 'the template folder is required');
  io = captureIo();
  t.equal(await main(['deploy', 'pack', 'dir'], io), 2);
  t.match(io.stderr.join('\n'), '--key KEY.pem (an ed25519 private key) is required');
  io = captureIo();
  t.equal(await main(['deploy', 'unpack', 'dir'], io), 2);
  t.match(io.stderr.join('\n'), 'one bundle file or templateId@version', 'deploy takes one bundle or templateId@version beside its subcommands (pack, list, rollback)');
});

t.test('pack writes a bundle the board verifies', async (t) => {
  if (!requireTool(t, 'openssl', 'openssl')) return;
  const dir = t.testdir({ greeter: template('greeter'), broken: template('broken', ['./gone.js']), keys: {}, out: {} });
  const key = await makeKey(path.join(dir, 'keys'), 'release');
  const trust = await loadTrustedKeys([key.publicFile]);

  const io = captureIo(dir);
  t.equal(await main(['deploy', 'pack', 'greeter', '--key', 'keys/release.key'], io), 0, io.stderr.join('\n'));
  const file = path.join(dir, 'greeter-2.0.1.osb');
  t.match(io.stdout[0], `packed greeter@2.0.1 -> ${file} (`);
  const bytes = await readFile(file);
  const verified = verifyBundle(bytes, trust);
  t.equal(io.stdout[1], `sha256 ${verified.sha256}`, 'prints the sha256 a fleet document names');
  t.equal(io.stdout[2], `signed by key ${verified.signer}`);

  const json = captureIo(dir);
  t.equal(await main(['deploy', 'pack', 'greeter', '--key', 'keys/release.key', '-o', 'out/g.osb', '--json'], json), 0);
  const result = JSON.parse(json.stdout.join('')) as { file: string; sha256: string; templateId: string; version: string };
  t.match(result, { file: path.join(dir, 'out', 'g.osb'), templateId: 'greeter', version: '2.0.1', sha256: verified.sha256 });
  t.equal(verifyBundle(await readFile(result.file), trust).templateId, 'greeter');

  const bad = captureIo(dir);
  t.equal(await main(['deploy', 'pack', 'broken', '--key', 'keys/release.key'], bad), 1);
  t.match(bad.stderr.join('\n'), 'plugins.0: plugin file "./gone.js" does not exist');

  const rsa = await makeKey(path.join(dir, 'keys'), 'rsa', 'rsa');
  const wrongKey = captureIo(dir);
  t.equal(await main(['deploy', 'pack', 'greeter', '--key', rsa.privateFile], wrongKey), 1);
  t.match(wrongKey.stderr.join('\n'), `${rsa.privateFile}: is a rsa key; bundles are signed with ed25519 only`);

  await writeFile(path.join(dir, 'keys', 'garbage.key'), 'nope');
  const garbage = captureIo(dir);
  t.equal(await main(['deploy', 'pack', 'greeter', '--key', 'keys/garbage.key'], garbage), 1);
  t.match(garbage.stderr.join('\n'), 'garbage.key: not a PEM private key');
  const noKey = captureIo(dir);
  t.equal(await main(['deploy', 'pack', 'greeter', '--key', 'keys/missing.key'], noKey), 1);
  t.match(noKey.stderr.join('\n'), 'missing.key: cannot be read: ENOENT');
});

t.test('an encrypted signing key packs with --passphrase-file, and is refused without it or with a wrong one', async (t) => {
  if (!requireTool(t, 'openssl', 'openssl')) return;
  const dir = t.testdir({ greeter: template('greeter'), keys: { 'pass.txt': 'correct horse\n', 'wrong.txt': 'battery staple\n' } });
  const key = await makeKey(path.join(dir, 'keys'), 'sealed', 'ed25519', 'correct horse');
  t.match(key.privatePem, 'BEGIN ENCRYPTED PRIVATE KEY', 'openssl wrote an encrypted PKCS#8 key');

  const ok = captureIo(dir);
  t.equal(await main(['deploy', 'pack', 'greeter', '--key', 'keys/sealed.key', '--passphrase-file', 'keys/pass.txt'], ok), 0, ok.stderr.join('\n'));
  t.equal(verifyBundle(await readFile(path.join(dir, 'greeter-2.0.1.osb')), await loadTrustedKeys([key.publicFile])).templateId, 'greeter', 'signed by the decrypted key');

  const without = captureIo(dir);
  t.equal(await main(['deploy', 'pack', 'greeter', '--key', 'keys/sealed.key', '-o', 'x.osb'], without), 1);
  t.match(without.stderr.join('\n'), 'sealed.key: is encrypted: give its passphrase with --passphrase-file FILE');
  const wrong = captureIo(dir);
  t.equal(await main(['deploy', 'pack', 'greeter', '--key', 'keys/sealed.key', '--passphrase-file', 'keys/wrong.txt', '-o', 'x.osb'], wrong), 1);
  t.match(wrong.stderr.join('\n'), 'sealed.key: cannot be decrypted with the passphrase given');
  const missing = captureIo(dir);
  t.equal(await main(['deploy', 'pack', 'greeter', '--key', 'keys/sealed.key', '--passphrase-file', 'keys/none.txt', '-o', 'x.osb'], missing), 1);
  t.match(missing.stderr.join('\n'), 'none.txt: cannot be read: ENOENT');
});
