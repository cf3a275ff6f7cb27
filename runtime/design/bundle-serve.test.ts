// The design-layer service serves signed bundles (`design-layer serve --bundles DIR`) and the board's client fetches
// them (bundle-fetch.ts), over real HTTP: listing, one bundle byte for byte (then verified with a real openssl key),
// 404s, a non-bundle file reported, and the client's refusals: over the cap (declared, or only while streaming),
// a 404, a server that does not answer, a URL that is not http(s).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { requireTool } from '../../scripts/testing/system-deps.ts';
import { ErrorCode } from '../errors.ts';
import { fetchBundle, fetchBundleUrl } from './bundle-fetch.ts';
import { makeKey } from './bundle-keys.test-support.ts';
import { loadTrustedKeys, packBundle, verifyBundle } from './bundle.ts';
import { DesignLayerServer } from './design-layer-server.ts';

const O = { maxBytes: 1024 * 1024, timeoutMs: 5000 };
const template = (version: string) => ({ 'agent.json': JSON.stringify({ id: 'greeter', version, plugins: ['./m.js'] }), 'm.js': `export default { name: "m", start() {} }; // ${version}` });

t.test('serve and fetch bundles', async (t) => {
  if (!requireTool(t, 'openssl', 'openssl')) return;
  const dir = t.testdir({ templates: {}, bundles: { 'notes.osb': 'not json' }, v1: template('1.0.0'), v2: template('1.1.0'), keys: {} });
  const key = await makeKey(path.join(dir, 'keys'), 'release');
  const v1 = await packBundle(path.join(dir, 'v1'), key.privatePem);
  await writeFile(path.join(dir, 'bundles', 'greeter-1.0.0.osb'), v1);
  const server = await DesignLayerServer.listen({ dir: path.join(dir, 'templates'), bundles: path.join(dir, 'bundles'), port: 0 });
  t.teardown(() => server.close());
  t.equal(server.initialBundles?.bundles.get('greeter')?.size, 1);
  t.match(server.initialBundles?.invalid, [{ error: /notes\.osb: not a bundle: not valid JSON/ }]);

  // Copied in while the service runs, under a name that says nothing: found by what is inside.
  const v2 = await packBundle(path.join(dir, 'v2'), key.privatePem);
  await writeFile(path.join(dir, 'bundles', 'latest.osb'), v2);
  const listing = (await (await fetch(`${server.url}/bundles/greeter`)).json()) as { versions: { version: string; sha256: string; bytes: number }[] };
  t.same(listing.versions.map((v) => [v.version, v.bytes]).sort(), [['1.0.0', v1.byteLength], ['1.1.0', v2.byteLength]]);
  const all = (await (await fetch(`${server.url}/bundles`)).json()) as { bundles: { id: string }[]; invalid: unknown[] };
  t.same(all.bundles.map((b) => b.id), ['greeter']);
  t.equal(all.invalid.length, 1);

  const got = await fetchBundle(`${server.url}/`, 'greeter', '1.1.0', O);
  t.same(Buffer.from(got), Buffer.from(v2), 'the bytes as packed');
  const verified = verifyBundle(got, await loadTrustedKeys([key.publicFile]));
  t.equal(verified.version, '1.1.0');
  t.equal(verified.sha256, listing.versions.find((v) => v.version === '1.1.0')?.sha256, 'the listing names the sha256 a fleet document carries');

  await t.rejects(fetchBundle(server.url, 'greeter', '9.9.9', O), { code: ErrorCode.TEMPLATE_NOT_FOUND, message: /\/bundles\/greeter\/9\.9\.9: the server has no such bundle \(HTTP 404\)/ });
  await t.rejects(fetchBundle(server.url, 'nobody', '1.0.0', O), { code: ErrorCode.TEMPLATE_NOT_FOUND });
  await t.rejects(fetchBundle(server.url, 'greeter', '1.1.0', { ...O, maxBytes: 100 }), { code: ErrorCode.BUNDLE_INVALID, message: /answer of \d+ bytes is larger than the 100-byte limit \(deploy\.maxBundleBytes\)/ });
  const head = await fetch(`${server.url}/bundles/greeter/1.0.0`, { method: 'HEAD' });
  t.equal(head.status, 200);
  t.equal(head.headers.get('content-length'), String(v1.byteLength));
  t.equal((await fetch(`${server.url}/bundles/greeter/1.0.0`, { method: 'POST' })).status, 405, 'still read-only');
});

t.test('a service without --bundles answers 404', async (t) => {
  const dir = t.testdir({});
  const server = await DesignLayerServer.listen({ dir, port: 0 });
  t.teardown(() => server.close());
  const res = await fetch(`${server.url}/bundles/greeter/1.0.0`);
  t.equal(res.status, 404);
  t.match(await res.json(), { error: { code: ErrorCode.NOT_FOUND, message: /serves no bundles/ } });
});

t.test('the client caps while streaming, and names a silent or wrong server', async (t) => {
  // No content-length: chunks until the client stops reading.
  const server = createServer((req, res) => {
    if (req.url === '/endless') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      const pump = (): void => {
        while (res.write(chunk)) if (res.destroyed) return;
        res.once('drain', pump);
      };
      res.on('close', () => res.removeAllListeners('drain'));
      pump();
      return;
    }
    if (req.url === '/silent') return; // never answers
    res.writeHead(503).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await t.rejects(fetchBundleUrl(`${base}/endless`, { maxBytes: 256 * 1024, timeoutMs: 10_000 }), { code: ErrorCode.BUNDLE_INVALID, message: /answer is larger than the 262144-byte limit/ });
  await t.rejects(fetchBundleUrl(`${base}/silent`, { maxBytes: 1024, timeoutMs: 200 }), { code: ErrorCode.DESIGN_LAYER_UNREACHABLE, message: /no answer within 200 ms/ });
  await t.rejects(fetchBundleUrl(`${base}/down`, O), { code: ErrorCode.DESIGN_LAYER_UNREACHABLE, message: /HTTP 503/ });
  await t.rejects(fetchBundleUrl('ftp://example.invalid/x.osb', O), { code: ErrorCode.BUNDLE_INVALID, message: /only http:\/\/ and https:\/\/ are fetched/ });
  await t.rejects(fetchBundleUrl('not a url', O), { code: ErrorCode.BUNDLE_INVALID, message: /is not a URL/ });
});
