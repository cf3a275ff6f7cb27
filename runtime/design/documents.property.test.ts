// Property tests of the documents the daemon reads (issue 13 "Fuzz the boundaries"): agent manifests, the daemon
// config, orchestration rules files, and the remote design layer's answers. Each generated document is a valid one
// mutated (fields dropped, renamed to `__proto__`/`constructor`, retyped, NaN/Infinity/-0, huge, deep, unicode),
// written as JSON or YAML text, sometimes broken. Every one either parses or is refused with the boundary's typed
// error naming the file and listing problems with a field path — never a TypeError or RangeError, and no shared
// prototype is touched.
import t from 'tap';
import type { Test } from 'tap';
import { stringify as yamlStringify } from 'yaml';
import { ErrorCode } from '../errors.ts';
import type { OpenStarryError } from '../errors.ts';
import { assertPrototypesUntouched, assertTyped, checkAsyncProperty, checkProperty, fc, jsonText, mutatedDocument, nastyValue, prototypeFingerprint } from '../../scripts/testing/fuzz-kit.ts';
import { parseConfigText } from '../daemon/config-text.ts';
import { parseRulesFile } from '../orchestrator/rules-loader.ts';
import { yamlTooDeepAt } from '../yaml-nesting.ts';
import { parseManifest } from './blueprint.ts';
import { RemoteTemplateSource } from './remote-source.ts';

const before = prototypeFingerprint();

t.test('the YAML nesting pre-check never refuses an ordinary document', async (t) => {
  checkProperty(t, 'yaml depth', fc.jsonValue({ maxDepth: 12 }), 2000, (doc) => {
    for (const text of [yamlStringify(doc), JSON.stringify(doc), yamlStringify(doc, { collectionStyle: 'flow' })]) {
      const at = yamlTooDeepAt(text);
      if (at !== undefined) throw new Error(`refused at line ${at}: ${text.slice(0, 300)}`);
    }
  });
});

/** Every refusal names its file and lists at least one problem with a path and a message. */
function assertProblems(err: OpenStarryError, file: string): void {
  const details = err.details as { file?: unknown; problems?: { path?: unknown; message?: unknown }[] } | undefined;
  if (!err.message.includes(file)) throw new Error(`${err.code} does not name ${file}: ${err.message.slice(0, 200)}`);
  if (details?.file !== file || !Array.isArray(details.problems) || details.problems.length === 0) throw new Error(`${err.code} without details.problems: ${err.message.slice(0, 200)}`);
  for (const p of details.problems) if (typeof p.path !== 'string' || typeof p.message !== 'string' || p.message === '') throw new Error(`a problem without path/message: ${JSON.stringify(p).slice(0, 200)}`);
}

/** The property every document boundary shares: parsed, or refused with `code`, the file and its problems. */
function checkDocuments(t: Test, what: string, texts: fc.Arbitrary<string>, runs: number, file: string, code: string, parse: (text: string, file: string) => unknown): void {
  let accepted = 0;
  checkProperty(t, what, texts, runs, (text) => {
    try {
      parse(text, file);
      accepted += 1;
    } catch (err) {
      assertProblems(assertTyped(err, [code], what), file);
    }
  });
  t.ok(accepted > 0, `${accepted} generated ${what} documents were valid`);
  assertPrototypesUntouched(t, before);
}

/** JSON text, or the same document as YAML (NaN and Infinity survive there as .nan and .inf), or broken YAML. */
function yamlText(doc: fc.Arbitrary<unknown>): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 2, arbitrary: jsonText(doc) },
    {
      weight: 3,
      arbitrary: doc.map((d) => {
        try {
          return yamlStringify(d, { aliasDuplicateObjects: false });
        } catch {
          return JSON.stringify(d) ?? 'null';
        }
      }),
    },
    { weight: 1, arbitrary: fc.constantFrom('a: &x [*x]\n', 'a: !!js/function "x"\n', '? [a]\n: 1\n', 'a: 1\na: 2\n', '- 1\n', '"unterminated\n', '\t- tab\n', 'a: *nope\n', '%YAML 9.9\n---\na: 1\n', `${'- '.repeat(5000)}x\n`, `a: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n`, 'x: &a [*a, *a, *a]\n', `__proto__: { polluted: true }\n`, 'constructor: { prototype: { polluted: true } }\n', `${Array.from({ length: 600 }, (_, i) => `${' '.repeat(i)}a:`).join('\n')} 1\n`, `${'- '.repeat(300)}[${'{a: '.repeat(300)}1${'}'.repeat(300)}]\n`) },
  );
}

const MANIFEST = {
  id: 'thermostat',
  version: '1.2.3',
  description: 'keeps it warm',
  plugins: ['./main.js', 'lib/extra.mjs'],
  isolation: 'worker',
  capabilities: ['sensor:env0:read', 'events:door/*:publish'],
  limits: { memoryMb: 64, cpuPercent: 50, tokens: 1000 },
  restart: { policy: 'on-failure', maxRestarts: 3, backoffMs: 500 },
  stopGraceMs: 2000,
  tools: [{ name: 'read_temp', description: 'reads', parameters: { type: 'object' } }],
  config: { target: 21.5, rooms: ['a', 'b'], nested: { deep: [1, { x: null }] } },
};

t.test('manifests: parsed, or refused with ERR_MANIFEST_INVALID naming the file and each field', async (t) => {
  checkDocuments(t, 'manifest', jsonText(mutatedDocument(fc.constant(MANIFEST), { maxMutations: 4 })), 3000, 'agents/x/agent.json', ErrorCode.MANIFEST_INVALID, parseManifest);
});

/** Smaller huge and deep values for YAML: the yaml package takes ~1 ms per KB, and the fixed cases above go deeper. */
const yamlValues = nastyValue({ maxDepth: 200, hugeBytes: 8 * 1024 });

const CONFIG = {
  deviceId: 'board-1',
  board: 'sim',
  templates: { dir: './templates', url: 'http://design.local:7410', timeoutMs: 3000 },
  devices: [{ id: 'led1', driver: 'gpio-out', pin: 17 }],
  masterAgent: 'master',
  agents: { stopGraceMs: 5000, shutdownTimeoutMs: 60000, startTimeoutMs: 10000, usageIntervalMs: 2000, cpuLimitWindowMs: 10000, logLines: 1000, warmSpares: 'auto' },
  isolation: { docker: { enabled: 'auto', user: '65534:65534', pidsLimit: 64 } },
  orchestration: { rules: './rules.yaml', maxConcurrentSpawns: 2, projectionInterval: '10s' },
  dashboard: { listen: '127.0.0.1:8080' },
  homeassistant: { enabled: true, prefix: 'homeassistant', interval: '30s' },
  mqtt: { url: 'mqtt://broker:1883', keepaliveSec: 30, reconnect: { minMs: 200, maxMs: 1000 }, commands: ['status', 'listAgents'], maxIncomingBytes: 4096 },
  log: { level: 'info' },
};

t.test('configs: parsed, or refused with ERR_CONFIG_INVALID naming the file and each field', async (t) => {
  checkDocuments(t, 'config', yamlText(mutatedDocument(fc.constant(CONFIG), { maxMutations: 4, values: yamlValues })), 1500, '/etc/openstarry/openstarry.yaml', ErrorCode.CONFIG_INVALID, parseConfigText);
});

const RULES = {
  timers: [{ name: 'hourly', every: '1h' }],
  rules: [
    { on: 'git:commit_pushed', if: "branch == 'main'", action: 'spawn(code-reviewer-agent)' },
    { name: 'too-hot', on: 'sensor:env0.temperature', every: '30s', if: 'value > 30.0', edge: true, cooldown: '5m', actions: [{ publish: 'climate/too_hot', data: { level: 1 } }, 'notify(devops-agent)'] },
    { on: 'gpio:pir:rising', cooldownMs: 1000, action: 'spawn(motion-camera)' },
    { on: 'timer:hourly', action: 'kill(motion-camera)', enabled: false },
  ],
};

t.test('rules files: parsed, or refused with ERR_RULES_INVALID naming the file and each rule field', async (t) => {
  checkDocuments(t, 'rules', yamlText(mutatedDocument(fc.constant(RULES), { maxMutations: 4, values: yamlValues })), 1500, 'orchestration.yaml', ErrorCode.RULES_INVALID, parseRulesFile);
});

t.test('YAML nested 5,000 deep is refused as often as it comes (the second parse used to abort the process)', async (t) => {
  // Before yaml-nesting.ts: yaml 2.9's recursive parser overflowed its stack, and the second time V8 died with
  // "RegExpCompiler Allocation failed - process out of memory" — a rules file like this killed the daemon at reload.
  for (const text of [`${'- '.repeat(5000)}x\n`, `a: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n`]) {
    for (let i = 0; i < 3; i++) {
      t.throws(() => parseRulesFile(text, 'orchestration.yaml'), { code: ErrorCode.RULES_INVALID, message: /nested deeper than 128 levels at line 1/ });
      t.throws(() => parseConfigText(text, 'openstarry.yaml'), { code: ErrorCode.CONFIG_INVALID, message: /nested deeper than 128 levels at line 1/ });
    }
  }
});

const HASH = 'a'.repeat(64);
const LISTING = { templates: [{ id: 'thermostat', version: '1.0.0', hash: HASH, description: 'd' }], invalid: [{ file: 'x/agent.json', error: 'bad' }] };
const PACKAGE = { id: 'thermostat', version: '1.0.0', hash: HASH, manifest: JSON.stringify(MANIFEST), files: { 'main.js': 'export default {}', 'lib/extra.mjs': '' } };

t.test('design-layer answers: parsed, or refused with a typed error (invalid, not found, unreachable)', async (t) => {
  const answer = fc.record({
    kind: fc.constantFrom('listing' as const, 'package' as const),
    status: fc.oneof({ weight: 5, arbitrary: fc.constant(200) }, { weight: 1, arbitrary: fc.constantFrom(204, 301, 400, 404, 422, 500, 503) }),
    body: fc.oneof({ weight: 4, arbitrary: jsonText(mutatedDocument(fc.constantFrom<unknown>(LISTING, PACKAGE), { maxMutations: 3 })) }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 100 }) }),
    declared: fc.option(fc.constantFrom('0', '-1', 'abc', '99999999999', '1e309'), { nil: undefined }),
    breakOff: fc.boolean(),
  });
  let accepted = 0;
  await checkAsyncProperty(t, 'design layer', answer, 1500, async ({ kind, status, body, declared, breakOff }) => {
    const fakeFetch = (async () => {
      const headers = declared === undefined ? undefined : { 'content-length': declared };
      if (!breakOff) return new Response(status === 204 ? null : body, { status, headers });
      // A body that breaks off half way, as a dropped connection does.
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(Buffer.from(body.slice(0, body.length / 2)));
          controller.error(new Error('socket hang up'));
        },
      });
      return new Response(stream, { status: status === 204 ? 200 : status, headers });
    }) as typeof fetch;
    const source = new RemoteTemplateSource({ url: 'http://svc/', fetch: fakeFetch, timeoutMs: 1000 });
    try {
      if (kind === 'listing') await source.list();
      else await source.get('thermostat');
      accepted += 1;
    } catch (err) {
      assertTyped(err, [ErrorCode.TEMPLATE_INVALID, ErrorCode.TEMPLATE_NOT_FOUND, ErrorCode.DESIGN_LAYER_UNREACHABLE], `RemoteTemplateSource.${kind}`);
    }
  });
  t.ok(accepted > 0, `${accepted} generated answers were valid`);
  assertPrototypesUntouched(t, before);
});
