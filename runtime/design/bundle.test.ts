// Signed bundles (issue 16 "Bundles and trust"): pack -> verify round trip with real openssl-made ed25519 keys, and
// every refusal with its code and its one line: unsigned, untrusted key, a signature that does not verify, a
// tampered module or manifest, oversized, truncated, malformed, an invalid template; key files of the wrong kind.
import { execFile } from 'node:child_process';
import { createHash, createPrivateKey, sign } from 'node:crypto';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import type { Test } from 'tap';
import { requireTool } from '../../scripts/testing/system-deps.ts';
import { ErrorCode } from '../errors.ts';
import type { BundleDocument } from './bundle-format.ts';
import { bundleFiles, contentHash } from './bundle-format.ts';
import { makeKey } from './bundle-keys.test-support.ts';
import { loadTrustedKeys, packBundle, verifyBundle } from './bundle.ts';
import type { TrustedKeys } from './bundle.ts';

const MODULE = 'export default { name: "greet", start(ctx) { ctx.log.info("hello"); } };\n';
const HELPER = 'export const answer = 42;\n';

function templateFolder(manifest: Record<string, unknown> = {}) {
  return {
    'agent.json': `${JSON.stringify({ id: 'greeter', version: '1.2.0', plugins: ['./main.js'], ...manifest }, null, 2)}\n`,
    'main.js': MODULE,
    lib: { 'helper.mjs': HELPER },
  };
}

const decode = (bytes: Uint8Array): BundleDocument => JSON.parse(Buffer.from(bytes).toString('utf8')) as BundleDocument;
const encode = (doc: unknown): Uint8Array => Buffer.from(JSON.stringify(doc), 'utf8');

/** Re-signs a (changed) document with a real key, as a holder of that key could: the signature is good, the content is whatever it is. */
function resign(doc: BundleDocument, privatePem: string): BundleDocument {
  const digest = contentHash(doc.template.id, doc.template.version, bundleFiles(doc.template));
  return { ...doc, signature: { ...doc.signature!, contentHash: digest.toString('hex'), value: sign(null, digest, createPrivateKey(privatePem)).toString('base64') } };
}

function refused(t: Test, run: () => unknown, code: string, line: RegExp | string, what: string): void {
  try {
    run();
    t.fail(`${what}: accepted`);
  } catch (err) {
    const e = err as { code?: string; message: string };
    t.equal(e.code, code, `${what}: ${code}`);
    t.match(e.message, line, `${what}: says why`);
    t.notMatch(e.message, /\n/, `${what}: one line`);
  }
}

t.test('bundles', async (t) => {
  if (!requireTool(t, 'openssl', 'openssl')) return;
  const dir = t.testdir({ keys: {}, other: {}, greeter: templateFolder() });
  const keys = path.join(dir, 'keys');
  const signer = await makeKey(keys, 'release');
  const stranger = await makeKey(path.join(dir, 'other'), 'stranger');
  const trust: TrustedKeys = await loadTrustedKeys([keys]);
  const bytes = await packBundle(path.join(dir, 'greeter'), signer.privatePem);

  t.test('pack -> verify round trip', async (t) => {
    const verified = verifyBundle(bytes, trust);
    t.equal(verified.templateId, 'greeter');
    t.equal(verified.version, '1.2.0');
    t.equal(verified.sha256, createHash('sha256').update(bytes).digest('hex'), 'sha256 of the bytes as received');
    // The fingerprint as openssl computes it: sha256 of the public key's SPKI DER.
    const der = (await promisify(execFile)('openssl', ['pkey', '-pubin', '-in', signer.publicFile, '-outform', 'DER'], { encoding: 'buffer' })).stdout;
    t.equal(verified.signer, createHash('sha256').update(der).digest('hex'), 'signer is the SPKI DER fingerprint');
    t.same([...verified.files.keys()], ['agent.json', 'lib/helper.mjs', 'main.js']);
    t.equal(Buffer.from(verified.files.get('main.js')!).toString('utf8'), MODULE, 'module bytes as on disk');
    t.equal(Buffer.from(verified.files.get('agent.json')!).toString('utf8'), templateFolder()['agent.json'], 'manifest text as on disk');
  });

  t.test('unsigned, untrusted, wrongly signed', async (t) => {
    const { signature: _dropped, ...unsigned } = decode(bytes);
    refused(t, () => verifyBundle(encode(unsigned), trust), ErrorCode.BUNDLE_UNTRUSTED, 'greeter@1.2.0 is not signed', 'unsigned');

    const byStranger = await packBundle(path.join(dir, 'greeter'), stranger.privatePem);
    refused(t, () => verifyBundle(byStranger, trust, { origin: 'greeter.osb' }), ErrorCode.BUNDLE_UNTRUSTED, /^greeter\.osb: greeter@1\.2\.0 is signed by key [0-9a-f]{16}, which is not among the 1 trusted key/, 'untrusted key');

    // The stranger's signature claimed for the trusted key.
    const doc = decode(byStranger);
    const claimed = { ...doc, signature: { ...doc.signature!, key: decode(bytes).signature!.key } };
    refused(t, () => verifyBundle(encode(claimed), trust), ErrorCode.BUNDLE_UNTRUSTED, /the signature does not verify with trusted key [0-9a-f]{16} \(.*release\.pem\)/, 'wrong signature');

    refused(t, () => verifyBundle(bytes, new Map()), ErrorCode.BUNDLE_UNTRUSTED, 'not among the 0 trusted key(s)', 'no keys trusted');
  });

  t.test('tampered content', async (t) => {
    const doc = decode(bytes);
    const module = { ...doc, template: { ...doc.template, files: { ...doc.template.files, 'main.js': MODULE.replace('hello', 'hellO') } } };
    refused(t, () => verifyBundle(encode(module), trust), ErrorCode.BUNDLE_INVALID, 'greeter@1.2.0: the content does not match its signed hash (tampered with or damaged)', 'a module byte');
    const manifest = { ...doc, template: { ...doc.template, manifest: doc.template.manifest.replace('"./main.js"', '"./lib/helper.mjs"') } };
    refused(t, () => verifyBundle(encode(manifest), trust), ErrorCode.BUNDLE_INVALID, 'does not match its signed hash', 'the manifest');
    const added = { ...doc, template: { ...doc.template, files: { ...doc.template.files, 'extra.js': 'export default {};' } } };
    refused(t, () => verifyBundle(encode(added), trust), ErrorCode.BUNDLE_INVALID, 'does not match its signed hash', 'an added module');
    const hash = { ...doc, template: { ...doc.template, hash: '0'.repeat(64) } };
    refused(t, () => verifyBundle(encode(hash), trust), ErrorCode.BUNDLE_INVALID, 'hash: the template hash does not match its content', 'the package hash');
  });

  t.test('oversized, truncated, malformed', async (t) => {
    refused(t, () => verifyBundle(bytes, trust, { maxBytes: 100 }), ErrorCode.BUNDLE_INVALID, `${bytes.byteLength} bytes is over the 100-byte limit (deploy.maxBundleBytes)`, 'oversized');
    refused(t, () => verifyBundle(bytes.subarray(0, bytes.byteLength - 10), trust), ErrorCode.BUNDLE_INVALID, 'not a bundle: not valid JSON (truncated?)', 'truncated');
    refused(t, () => verifyBundle(encode({ ...decode(bytes), format: 'openstarry-bundle/9' }), trust), ErrorCode.BUNDLE_INVALID, /malformed: format: must be "openstarry-bundle\/1"/, 'another format');
    const doc = decode(bytes);
    const climbing = resign({ ...doc, template: { ...doc.template, files: { ...doc.template.files, '../evil.js': 'x' } } }, signer.privatePem);
    refused(t, () => verifyBundle(encode(climbing), trust), ErrorCode.BUNDLE_INVALID, /malformed: template\.files\.\.\.\/evil\.js: module path/, 'a module path that climbs out');
  });

  t.test('a signed template that fails validation is refused like a local one', async (t) => {
    const doc = decode(bytes);
    const missing = resign({ ...doc, template: { ...doc.template, files: { 'lib/helper.mjs': HELPER } } }, signer.privatePem);
    refused(t, () => verifyBundle(encode(missing), trust), ErrorCode.BUNDLE_INVALID, 'invalid template: agent.json: plugins.0: plugin file "./main.js" does not exist', 'a missing plugin');
    const badManifest = templateFolder({ limits: { memoryMb: 1 } })['agent.json'];
    const limits = resign({ ...doc, template: { ...doc.template, manifest: badManifest } }, signer.privatePem);
    refused(t, () => verifyBundle(encode(limits), trust), ErrorCode.BUNDLE_INVALID, /^bundle: invalid template: agent\.json: limits\.memoryMb: /, 'a manifest field');
    const renamed = resign({ ...doc, template: { ...doc.template, id: 'other' } }, signer.privatePem);
    refused(t, () => verifyBundle(encode(renamed), trust), ErrorCode.BUNDLE_INVALID, 'id: the bundle is "other" but its agent.json says "greeter"', 'an id that is not the manifest\'s');
  });

  t.test('pack refuses what a board would refuse', async (t) => {
    await mkdir(path.join(dir, 'broken'));
    await writeFile(path.join(dir, 'broken', 'agent.json'), JSON.stringify({ id: 'broken', version: '1.0.0', plugins: ['./gone.js'] }));
    await t.rejects(packBundle(path.join(dir, 'broken'), signer.privatePem), { code: ErrorCode.MANIFEST_INVALID, message: /plugins\.0: plugin file "\.\/gone\.js" does not exist/ });
    await t.rejects(packBundle(path.join(dir, 'nowhere'), signer.privatePem), { code: ErrorCode.MANIFEST_INVALID, message: /cannot read manifest/ });
    const rsa = await makeKey(path.join(dir, 'other'), 'rsa', 'rsa');
    await t.rejects(packBundle(path.join(dir, 'greeter'), rsa.privatePem, { keyFile: rsa.privateFile }), { code: ErrorCode.BUNDLE_KEY_INVALID, message: /rsa\.key: is a rsa key; bundles are signed with ed25519 only/ });
    await t.rejects(packBundle(path.join(dir, 'greeter'), 'not a key', { keyFile: 'k.pem' }), { code: ErrorCode.BUNDLE_KEY_INVALID, message: /^k\.pem: not a PEM private key/ });
  });
});

t.test('trusted keys', async (t) => {
  if (!requireTool(t, 'openssl', 'openssl')) return;
  const dir = t.testdir({ trusted: { 'README.txt': 'not a key' }, single: {}, bad: {} });
  const a = await makeKey(path.join(dir, 'trusted'), 'a');
  const b = await makeKey(path.join(dir, 'single'), 'b');
  const fromDir = await loadTrustedKeys([path.join(dir, 'trusted'), b.publicFile]);
  t.same([...fromDir.values()].map((k) => path.basename(k.file)).sort(), ['a.pem', 'b.pem'], 'a folder means its *.pem; a file is itself');
  for (const [fp, k] of fromDir) t.equal(k.fingerprint, fp);
  t.equal((await loadTrustedKeys([a.publicFile, path.join(dir, 'trusted')])).size, 1, 'the same key twice is one key');
  t.equal((await loadTrustedKeys([])).size, 0, 'no paths: nothing trusted');

  const rsa = await makeKey(path.join(dir, 'bad'), 'rsa', 'rsa');
  await t.rejects(loadTrustedKeys([rsa.publicFile]), { code: ErrorCode.BUNDLE_KEY_INVALID, message: `${rsa.publicFile}: is a rsa key; only ed25519 keys are trusted` });
  const ed448 = await makeKey(path.join(dir, 'bad'), 'ed448', 'ed448');
  await t.rejects(loadTrustedKeys([ed448.publicFile]), { code: ErrorCode.BUNDLE_KEY_INVALID, message: `${ed448.publicFile}: is a ed448 key; only ed25519 keys are trusted` });
  const privateInTrust = path.join(dir, 'bad', 'private.pem');
  await copyFile(a.privateFile, privateInTrust);
  await t.rejects(loadTrustedKeys([privateInTrust]), { code: ErrorCode.BUNDLE_KEY_INVALID, message: `${privateInTrust}: holds a private key` });
  const garbage = path.join(dir, 'bad', 'garbage.pem');
  await writeFile(garbage, 'hello');
  await t.rejects(loadTrustedKeys([garbage]), { code: ErrorCode.BUNDLE_KEY_INVALID, message: `${garbage}: not a PEM public key` });
  await t.rejects(loadTrustedKeys([path.join(dir, 'missing')]), { code: ErrorCode.BUNDLE_KEY_INVALID, message: /missing: cannot be read: ENOENT/ });
});
