import t from 'tap';
import { manifestSchema } from '../design/manifest-schema.ts';
import { MAX_DOCUMENT_BYTES, compareVersions, deployDocumentSchema, parseDeployDocument } from './deploy-document.ts';

const TOPIC = 'openstarry/groups/g/deploy';
const sha = 'ab'.repeat(32);
const bytes = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));

t.test('a valid document parses, with or without url', async (t) => {
  t.same(parseDeployDocument(TOPIC, bytes({ templateId: 'climate', version: '2.0.0', sha256: sha })), { templateId: 'climate', version: '2.0.0', sha256: sha });
  t.equal(parseDeployDocument(TOPIC, bytes({ templateId: 'climate', version: '2.0.0', sha256: sha, url: 'https://x/y.osb' })).url, 'https://x/y.osb');
});

t.test('a bad document is refused with one line naming the topic, the field and the reason', async (t) => {
  const refused = (payload: Buffer, pattern: RegExp) => t.throws(() => parseDeployDocument(TOPIC, payload), { code: 'ERR_FLEET_DOCUMENT_INVALID', message: pattern });
  refused(bytes({ templateId: 'Climate', version: '2.0.0', sha256: sha }), /^openstarry\/groups\/g\/deploy: templateId: must be a template id/);
  refused(bytes({ templateId: 'climate', version: 'two', sha256: sha }), /version: must be a semantic version/);
  refused(bytes({ templateId: 'climate', version: '2.0.0', sha256: 'AB' }), /sha256: must be the sha256/);
  refused(bytes({ templateId: 'climate', version: '2.0.0', sha256: sha, url: 'file:///etc/passwd' }), /url: must be an http or https URL/);
  refused(bytes({ templateId: 'climate', version: '2.0.0', sha256: sha, extra: 1 }), /extra: Unrecognized key/);
  refused(bytes('{"templateId": '), /\(document\): not UTF-8 JSON/);
  refused(Buffer.alloc(MAX_DOCUMENT_BYTES + 1, 0x20), /more than 4096/);
  refused(bytes('['.repeat(100) + ']'.repeat(100)), /nested too deep/);
});

t.test('versions compare by semantic version precedence', async (t) => {
  t.equal(compareVersions('2.0.0', '10.0.0'), -1);
  t.equal(compareVersions('1.10.0', '1.9.9'), 1);
  t.equal(compareVersions('1.0.0-rc.1', '1.0.0'), -1);
  t.equal(compareVersions('1.0.0-rc.2', '1.0.0-rc.10'), -1);
  t.equal(compareVersions('1.0.0+build.5', '1.0.0'), 0);
});

t.test("a document accepts exactly the versions a manifest accepts (one SEMVER, runtime/design/manifest-schema.ts)", async (t) => {
  const accepted = ['1.0.0', '0.0.0', '10.20.30', '1.0.0-rc.1', '1.0.0+b', '1.0.0-rc.1+b', '1.0.0-rc-1+build.5-x', '1.0.0+b-c'];
  const refused = ['1', '1.0', 'v1.0.0', '1.0.0.0', '1.0.0-', '1.0.0+', '1.0.0-rc.1+', '1.0.0+b+c', '1.0.0-rc_1', ' 1.0.0', '1.0.0\n', ''];
  const document = (version: string) => deployDocumentSchema.safeParse({ templateId: 'climate', version, sha256: sha }).success;
  const manifest = (version: string) => manifestSchema.safeParse({ id: 'climate', version, plugins: ['./main.js'] }).success;
  for (const version of accepted) t.ok(document(version) && manifest(version), `${JSON.stringify(version)} accepted by both`);
  for (const version of refused) t.ok(!document(version) && !manifest(version), `${JSON.stringify(version)} refused by both`);
  t.equal(compareVersions('1.0.0-rc.1+b', '1.0.0-rc.1'), 0, 'build metadata does not count in precedence');
  t.equal(compareVersions('1.0.0-rc.1+b', '1.0.0'), -1);
});
