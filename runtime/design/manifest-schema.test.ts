// The agent manifest schema (README "Writing an agent"): defaults, and a field path for every kind of invalid field.
import t from 'tap';
import { parseManifest } from './blueprint.ts';
import type { Problem } from '../validation.ts';
import { manifestSchema } from './manifest-schema.ts';

const base = { id: 'thermostat', version: '1.0.0', plugins: ['./thermostat.js'] };

/** The problems (path + message) of validating `value`, or [] when it is valid. */
function problemsOf(value: unknown): Problem[] {
  try {
    parseManifest(JSON.stringify(value), '/agents/x/agent.json');
    return [];
  } catch (err) {
    return (err as { details: { problems: Problem[] } }).details.problems;
  }
}

function pathsOf(value: unknown): string[] {
  return problemsOf(value).map((p) => p.path);
}

t.test('a manifest with every documented field (README "Writing an agent") is valid and keeps every value', async (t) => {
  const example = {
    id: 'thermostat',
    version: '1.0.0',
    plugins: ['./thermostat.js'],
    isolation: 'worker',
    capabilities: ['sensor:env0:read', 'actuator:fan:control', 'events:climate/*:publish'],
    limits: { memoryMb: 64, cpuPercent: 50, tokens: 100000 },
    restart: { policy: 'on-failure', maxRestarts: 5, backoffMs: 1000 },
    config: { target: 22.5 },
  };
  const m = parseManifest(JSON.stringify(example), 'agent.json');
  t.same(m, { ...example, tools: [] });
});

t.test('a minimal manifest gets every default', async (t) => {
  const m = manifestSchema.parse(base);
  t.same(m, {
    id: 'thermostat',
    version: '1.0.0',
    plugins: ['./thermostat.js'],
    isolation: 'worker',
    capabilities: [],
    limits: { memoryMb: 64, cpuPercent: 100 },
    restart: { policy: 'never', maxRestarts: 5, backoffMs: 1000 },
    tools: [],
    config: {},
  });
  t.notOk('stopGraceMs' in m);
  t.notOk('description' in m);
  t.same(manifestSchema.parse({ ...base, limits: { tokens: 10 }, restart: { policy: 'always' } }).limits, { memoryMb: 64, cpuPercent: 100, tokens: 10 }, 'partial objects are filled in');
  t.same(manifestSchema.parse({ ...base, restart: { policy: 'always' } }).restart, { policy: 'always', maxRestarts: 5, backoffMs: 1000 });
});

t.test('valid edge values', async (t) => {
  t.same(problemsOf({ ...base, id: 'a' }), [], 'one-character id');
  t.same(problemsOf({ ...base, id: `a${'b'.repeat(62)}` }), [], '63-character id');
  t.same(problemsOf({ ...base, id: 'a0.x_y-z' }), [], 'digits, dot, underscore, dash');
  t.same(problemsOf({ ...base, id: '3' }).map((p) => p.path), ['id'], 'a leading digit could be taken for a pid');
  t.same(problemsOf({ ...base, version: '2.10.3-rc.1' }), [], 'prerelease');
  t.same(problemsOf({ ...base, version: '1.0.0+build.5' }), [], 'build metadata');
  t.same(problemsOf({ ...base, plugins: ['a.mjs', 'lib/b.js', './c/d.js'] }), [], 'nested and .mjs plugins');
  t.same(problemsOf({ ...base, capabilities: ['events:*:subscribe', 'agents:*:spawn', 'net:*:connect', 'gpio:led1:write', 'camera:cam0:snapshot'] }), []);
  t.same(problemsOf({ ...base, limits: { memoryMb: 8 } }), [], 'memoryMb minimum');
  t.same(problemsOf({ ...base, isolation: 'wasm' }), []);
  t.same(problemsOf({ ...base, tools: [{ name: 'read_temp', description: 'reads', parameters: { type: 'object' } }] }), []);
  t.same(problemsOf({ ...base, config: { nested: { list: [1, 'two', null, true] } } }), []);
});

t.test('id pattern', async (t) => {
  for (const id of ['Thermostat', '-lead', '.hidden', 'has space', '', `a${'b'.repeat(63)}`, 'a/b', 42]) {
    t.same(pathsOf({ ...base, id }), ['id'], `id ${JSON.stringify(id)}`);
  }
  t.match(problemsOf({ ...base, id: 'UPPER' })[0]?.message, /lowercase/);
});

t.test('version must be semver', async (t) => {
  for (const version of ['1', '1.0', 'v1.0.0', '1.0.0.0', 'latest', 1]) {
    t.same(pathsOf({ ...base, version }), ['version'], `version ${JSON.stringify(version)}`);
  }
  t.match(problemsOf({ ...base, version: '1.0' })[0]?.message, /semantic version/);
  // semver.org 2.0.0 §9-§10: a pre-release and build metadata together (refused before the one SEMVER).
  for (const version of ['1.0.0-rc.1', '1.0.0+b', '1.0.0-rc.1+b']) t.same(pathsOf({ ...base, version }), [], `version ${version}`);
  t.same(pathsOf({ ...base, version: '1.0.0+b+c' }), ['version'], 'one build suffix only');
});

t.test('plugins: not empty, relative, inside the folder, ES modules', async (t) => {
  t.same(problemsOf({ ...base, plugins: [] }), [{ path: 'plugins', message: 'must list at least one plugin module' }]);
  t.same(pathsOf({ ...base, plugins: undefined }), ['plugins'], 'missing');
  t.same(pathsOf({ ...base, plugins: './a.js' }), ['plugins'], 'not an array');
  const bad = ['../outside.js', 'lib/../../x.js', 'lib\\..\\x.js', '/abs/path.js', 'main.ts', 'main', 'main.json', ''];
  const problems = problemsOf({ ...base, plugins: ['./ok.js', ...bad] });
  t.same(
    [...new Set(problems.map((p) => p.path))],
    bad.map((_, i) => `plugins.${i + 1}`),
    'each bad entry reported at its own index; the good one is not',
  );
  t.match(problems[0]?.message, /relative path inside the agent folder/);
  t.match(problems[3]?.message, /relative path/, 'absolute path');
  t.match(problems[4]?.message, /\.js or \.mjs/, 'a .ts file');
});

t.test('unknown top-level and nested keys are errors', async (t) => {
  t.same(problemsOf({ ...base, plugns: ['x.js'] }), [{ path: 'plugns', message: 'Unrecognized key: "plugns"' }], 'the path is the key itself');
  t.same(pathsOf({ ...base, a: 1, b: 2 }), ['a', 'b'], 'one problem per unknown key');
  t.same(pathsOf({ ...base, limits: { memoryMB: 64 } }), ['limits.memoryMB']);
  t.same(pathsOf({ ...base, restart: { polcy: 'always' } }), ['restart.polcy']);
  t.same(pathsOf({ ...base, tools: [{ name: 'a', description: 'd', extra: 1 }] }), ['tools.0.extra']);
});

t.test('capability grammar', async (t) => {
  const problems = problemsOf({ ...base, capabilities: ['sensor:env0:read', 'sensor:*:read', 'foo:x:read', 'sensor:env0:write', 'sensor:env0', 'gpio:bad pin:read', 'actuator::control'] });
  t.same(
    problems.map((p) => p.path),
    ['capabilities.1', 'capabilities.2', 'capabilities.3', 'capabilities.4', 'capabilities.5', 'capabilities.6'],
  );
  t.match(problems[0]?.message, /"\*" is not allowed in a sensor resource/);
  t.match(problems[1]?.message, /unknown kind "foo"/);
  t.match(problems[2]?.message, /operation "write" is not one of read/);
  t.match(problems[3]?.message, /not <kind>:<resource>:<operation>/);
  t.match(problems[4]?.message, /resource "bad pin"/);
  t.match(problems[5]?.message, /resource "" is empty/);
  t.same(pathsOf({ ...base, capabilities: 'sensor:env0:read' }), ['capabilities'], 'must be an array');
});

t.test('limits, restart, isolation, stopGraceMs ranges', async (t) => {
  t.same(pathsOf({ ...base, limits: { memoryMb: 7 } }), ['limits.memoryMb'], 'memoryMb too small');
  t.match(problemsOf({ ...base, limits: { memoryMb: 4 } })[0]?.message, />=\s*8/);
  t.same(pathsOf({ ...base, limits: { memoryMb: 8193 } }), ['limits.memoryMb'], 'memoryMb too large');
  t.same(pathsOf({ ...base, limits: { memoryMb: 64.5 } }), ['limits.memoryMb'], 'memoryMb not an integer');
  t.same(pathsOf({ ...base, limits: { cpuPercent: 0 } }), ['limits.cpuPercent']);
  t.same(pathsOf({ ...base, limits: { cpuPercent: 101 } }), ['limits.cpuPercent']);
  t.same(pathsOf({ ...base, limits: { tokens: -1 } }), ['limits.tokens']);
  t.same(pathsOf({ ...base, restart: { policy: 'sometimes' } }), ['restart.policy']);
  t.match(problemsOf({ ...base, restart: { policy: 'sometimes' } })[0]?.message, /never.*on-failure.*always/);
  t.same(pathsOf({ ...base, restart: { maxRestarts: -1 } }), ['restart.maxRestarts']);
  t.same(pathsOf({ ...base, restart: { backoffMs: 3_600_001 } }), ['restart.backoffMs']);
  t.same(pathsOf({ ...base, isolation: 'chroot' }), ['isolation']);
  t.same(pathsOf({ ...base, stopGraceMs: -5 }), ['stopGraceMs']);
  t.same(pathsOf({ ...base, config: [] }), ['config'], 'config must be an object');
});

t.test('tools: identifier names, a description, no duplicates', async (t) => {
  const dup = problemsOf({
    ...base,
    tools: [
      { name: 'read', description: 'a' },
      { name: 'write', description: 'b' },
      { name: 'read', description: 'c' },
    ],
  });
  t.same(dup, [{ path: 'tools.2.name', message: 'duplicate tool name "read"' }]);
  t.same(pathsOf({ ...base, tools: [{ name: '1bad', description: 'x' }] }), ['tools.0.name']);
  t.same(pathsOf({ ...base, tools: [{ name: 'ok', description: '' }] }), ['tools.0.description']);
});

t.test('several problems at once are all reported', async (t) => {
  t.same(pathsOf({ id: 'BAD', version: 'x', plugins: [] }).sort(), ['id', 'plugins', 'version']);
  t.same(pathsOf(null), [''], 'not an object: reported at the document');
  t.same(pathsOf([]), ['']);
});
