// The daemon config loader: YAML -> schema -> defaults; every error starts with the absolute file path and names
// the field (or the line, for YAML syntax errors).
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { ErrorCode, OpenStarryError } from '../errors.ts';
import type { Problem } from '../validation.ts';
import { loadConfig, loadConfigFile, onlyComments } from './config-loader.ts';
import { parseConfigText } from './config-text.ts';

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const DEFAULTS = {
  board: 'auto',
  templates: { timeoutMs: 3000 },
  devices: [],
  masterAgent: 'master',
  agents: { stopGraceMs: 5000, shutdownTimeoutMs: 60_000, startTimeoutMs: 10_000, usageIntervalMs: 2000, cpuLimitWindowMs: 10_000, logLines: 1000, warmSpares: 'auto', maxMessageBytes: 1048576 },
  log: { level: 'info' },
  isolation: { docker: { enabled: 'auto', runtimeOverheadMb: 48, pidsLimit: 64 } },
  orchestration: { maxConcurrentSpawns: 2, maxPending: 32, maxEventsPerSecond: 100, burst: 500, projectionIntervalMs: 10_000, snapshotTimeoutMs: 2000 },
  dashboard: { enabled: true, listen: '127.0.0.1:8080', sampleIntervalMs: 5000 },
  homeassistant: { enabled: false, prefix: 'homeassistant', intervalMs: 30_000 },
  deploy: { maxBundleBytes: 8_388_608, groups: [], healthWindowMs: 30_000 },
  mqtt: {
    keepaliveSec: 30,
    reconnect: { minMs: 1000, maxMs: 60_000 },
    queue: { maxMessages: 10_000, maxBytes: 16_777_216, overflow: 'drop-oldest', fsyncIntervalMs: 1000 },
    maxIncomingBytes: 262_144,
    startWaitMs: 2000,
    embeddedBroker: { host: '127.0.0.1', port: 1883, maxPacketBytes: 270_336, maxConnections: 32, retained: { maxMessages: 1000, maxBytes: 8_388_608 }, publishRate: { perSecond: 100, burst: 500 }, allowPublish: [] },
    commands: ['status', 'listAgents', 'templates.list', 'devices.list'],
  },
};

/** Writes `text` as a config file in a fresh testdir and loads it through a *relative* path. */
async function loadError(t: Test, text: string) {
  const dir = t.testdir({ 'openstarry.yaml': text });
  const absolute = path.join(dir, 'openstarry.yaml');
  const relative = path.relative(process.cwd(), absolute);
  const err = await loadConfig(relative, {}).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof OpenStarryError)) throw new Error('expected the config to be rejected');
  t.equal(err.code, ErrorCode.CONFIG_INVALID);
  for (const line of err.message.split('\n')) t.ok(line.startsWith(`${absolute}: `), `"${line}" starts with the absolute file path`);
  return { err, absolute, problems: (err.details as { file: string; problems: Problem[] }).problems, file: (err.details as { file: string }).file };
}

t.test('no config at all: defaults, no file, cwd as base dir', async (t) => {
  const loaded = await loadConfig(undefined, {});
  t.same(loaded.config, DEFAULTS);
  t.notOk('file' in loaded);
  t.equal(loaded.baseDir, process.cwd());
  t.same((await loadConfig(undefined, { OPENSTARRY_CONFIG: '' })).config, DEFAULTS, 'an empty OPENSTARRY_CONFIG counts as unset');
});

t.test('an empty file, a comment-only file and a null document give the defaults', async (t) => {
  for (const text of ['', '# nothing here\n', '~\n', '---\n']) {
    t.same(parseConfigText(text, '/etc/openstarry.yaml'), DEFAULTS, JSON.stringify(text));
  }
});

t.test('a file of blanks and comments is all defaults without the YAML parser; anything else goes through it', async (t) => {
  for (const text of ['', '\n', '# a\n  # b\n\n#c', '#  mqtt:\n#    url: mqtt://x\n']) t.ok(onlyComments(text), JSON.stringify(text));
  for (const text of ['~\n', '---\n', 'log: {}\n', '# a\nlog:\n  level: debug\n', 'x # trailing comment']) t.notOk(onlyComments(text), JSON.stringify(text));
  const dir = t.testdir({ 'comments.yaml': '# every line commented\n#  log:\n#    level: debug\n', 'bad.yaml': '# a comment, then\nlog: [\n' });
  t.same(await loadConfigFile(path.join(dir, 'comments.yaml')), DEFAULTS);
  await t.rejects(loadConfigFile(path.join(dir, 'bad.yaml')), { code: ErrorCode.CONFIG_INVALID }, 'a real document is still parsed and checked');
});

t.test('a full config keeps every value and fills the rest', async (t) => {
  const dir = t.testdir({
    'c.yaml': ['deviceId: greenhouse-1', 'board: rpi-4b', 'templates:', '  dir: ./my-templates', 'masterAgent: boss', 'agents:', '  stopGraceMs: 100', 'log:', '  level: debug', ''].join('\n'),
  });
  const loaded = await loadConfig(path.join(dir, 'c.yaml'), {});
  t.same(loaded.config, {
    deviceId: 'greenhouse-1',
    board: 'rpi-4b',
    templates: { dir: './my-templates', timeoutMs: 3000 },
    devices: [],
    masterAgent: 'boss',
    agents: { stopGraceMs: 100, shutdownTimeoutMs: 60_000, startTimeoutMs: 10_000, usageIntervalMs: 2000, cpuLimitWindowMs: 10_000, logLines: 1000, warmSpares: 'auto', maxMessageBytes: 1048576 },
    log: { level: 'debug' },
    isolation: DEFAULTS.isolation,
    orchestration: DEFAULTS.orchestration,
    dashboard: DEFAULTS.dashboard,
    homeassistant: DEFAULTS.homeassistant,
    deploy: DEFAULTS.deploy,
    mqtt: DEFAULTS.mqtt,
  });
  t.equal(loaded.file, path.join(dir, 'c.yaml'));
  t.equal(loaded.baseDir, dir, 'relative paths in the config resolve against its folder');
});

t.test('a YAML syntax error names the line', async (t) => {
  const { problems, err } = await loadError(t, 'board: sim\nagents:\n  stopGraceMs: [1,\n');
  t.equal(problems[0]?.path, '');
  t.match(problems[0]?.message, /^YAML [A-Z_]+ at line \d+: /);
  t.notMatch(err.message, /line \?/, 'a real line number, not a placeholder');
  const quote = await loadError(t, 'board: sim\nmasterAgent: "unterminated\n');
  t.match(quote.problems[0]?.message, /at line [23]:/);
});

t.test('duplicate keys are an error with the line of the duplicate', async (t) => {
  const { problems } = await loadError(t, 'board: sim\nmasterAgent: a\nboard: auto\n');
  t.equal(problems.length, 1);
  t.match(problems[0]?.message, /^YAML DUPLICATE_KEY at line 3: /);
});

t.test('unknown keys are errors whose path is the key', async (t) => {
  const top = await loadError(t, 'masterAgnet: master\n');
  t.same(top.problems, [{ path: 'masterAgnet', message: 'Unrecognized key: "masterAgnet"' }]);
  t.match(top.err.message, `${top.absolute}: masterAgnet: `);
  const nested = await loadError(t, 'agents:\n  stopGrace: 10\n');
  t.same(nested.problems.map((p) => p.path), ['agents.stopGrace']);
  const deep = await loadError(t, 'mqtt:\n  queue:\n    maxMesages: 5\n');
  t.same(deep.problems.map((p) => p.path), ['mqtt.queue.maxMesages'], 'typos deep inside a part are caught too');
});

t.test('wrong types and ranges name the field path', async (t) => {
  const cases: [string, string][] = [
    ['agents:\n  stopGraceMs: "5000"\n', 'agents.stopGraceMs'],
    ['agents:\n  stopGraceMs: -1\n', 'agents.stopGraceMs'],
    ['agents:\n  stopGraceMs: 1.5\n', 'agents.stopGraceMs'],
    ['agents:\n  startTimeoutMs: 10\n', 'agents.startTimeoutMs'],
    ['agents:\n  logLines: 5\n', 'agents.logLines'],
    ['agents:\n  cpuLimitWindowMs: 50\n', 'agents.cpuLimitWindowMs'],
    ['agents:\n  warmSpares: 5\n', 'agents.warmSpares'],
    ['agents:\n  warmSpares: automatic\n', 'agents.warmSpares'],
    ['agents:\n  maxMessageBytes: 1000\n', 'agents.maxMessageBytes'],
    ['agents:\n  maxMessageBytes: 1MiB\n', 'agents.maxMessageBytes'],
    ['agents: 5\n', 'agents'],
    ['log:\n  level: verbose\n', 'log.level'],
    ['board: Raspberry Pi\n', 'board'],
    ['masterAgent: Master!\n', 'masterAgent'],
    ['deviceId: "has space"\n', 'deviceId'],
    ['templates:\n  dir: ""\n', 'templates.dir'],
    ['templates: [a, b]\n', 'templates'],
    ['templates:\n  url: ftp://x\n', 'templates.url'],
    ['mqtt:\n  url: http://broker\n', 'mqtt.url'],
    ['mqtt:\n  commands: [logs.follow]\n', 'mqtt.commands.0'],
    ['isolation:\n  docker:\n    enabled: maybe\n', 'isolation.docker.enabled'],
  ];
  for (const [text, field] of cases) {
    const { problems, err, absolute } = await loadError(t, text);
    t.same(problems.map((p) => p.path), [field], `${JSON.stringify(text)} -> ${field}`);
    t.ok(err.message.startsWith(`${absolute}: ${field}: `));
  }
});

t.test('several problems are all reported, one line each', async (t) => {
  const { problems, err } = await loadError(t, 'masterAgnet: x\nagents:\n  stopGraceMs: "1"\nlog:\n  level: loud\n');
  t.same(problems.map((p) => p.path).sort(), ['agents.stopGraceMs', 'log.level', 'masterAgnet']);
  t.equal(err.message.split('\n').length, 3);
});

t.test('the top level must be a mapping', async (t) => {
  for (const text of ['- board: sim\n', '42\n', 'just a string\n', 'true\n']) {
    const { problems } = await loadError(t, text);
    t.same(problems, [{ path: '', message: 'the config must be a YAML mapping' }], JSON.stringify(text));
  }
});

t.test('--config wins over OPENSTARRY_CONFIG; the env var is used without it', async (t) => {
  const dir = t.testdir({ 'explicit.yaml': 'board: from-explicit\n', 'env.yaml': 'board: from-env\n' });
  const explicit = path.join(dir, 'explicit.yaml');
  const env = { OPENSTARRY_CONFIG: path.join(dir, 'env.yaml') };
  const a = await loadConfig(explicit, env);
  t.equal(a.config.board, 'from-explicit');
  t.equal(a.file, explicit);
  const b = await loadConfig(undefined, env);
  t.equal(b.config.board, 'from-env');
  t.equal(b.file, env.OPENSTARRY_CONFIG);
  const rel = await loadConfig(path.relative(process.cwd(), explicit), {});
  t.equal(rel.file, explicit, 'a relative path is resolved to an absolute file');
});

t.test('a missing file is ERR_CONFIG_INVALID naming the absolute path, whichever way it was given', async (t) => {
  const dir = t.testdir({});
  const missing = path.join(dir, 'nope.yaml');
  await t.rejects(loadConfig(path.relative(process.cwd(), missing), {}), { code: ErrorCode.CONFIG_INVALID, message: new RegExp(`^${esc(missing)}: cannot read config`) });
  await t.rejects(loadConfig(undefined, { OPENSTARRY_CONFIG: missing }), { code: ErrorCode.CONFIG_INVALID, message: new RegExp(`^${esc(missing)}: `) });
  await t.rejects(loadConfigFile(dir), { code: ErrorCode.CONFIG_INVALID, message: new RegExp(`^${esc(dir)}: cannot read config`) }, 'a directory');
});

t.test('loadConfigFile validates a file the same way', async (t) => {
  const dir = t.testdir({ 'ok.yaml': 'board: sim\n' });
  t.equal((await loadConfigFile(path.join(dir, 'ok.yaml'))).board, 'sim');
  await writeFile(path.join(dir, 'ok.yaml'), 'board: [\n');
  await t.rejects(loadConfigFile(path.join(dir, 'ok.yaml')), { code: ErrorCode.CONFIG_INVALID, message: /YAML .* at line \d+/ });
});
