import path from 'node:path';
import t from 'tap';
import { detectKind } from './commands/validate-file.ts';
import { main } from './main.ts';
import { captureIo } from './test-io.ts';

const good = JSON.stringify({ id: 'pump', version: '1.0.0', plugins: ['./pump.js'], capabilities: ['actuator:fan:control'] });

async function validate(cwd: string, file: string): Promise<{ code: number; stdout: string[]; stderr: string[] }> {
  const io = captureIo(cwd);
  // A socket nobody listens on: validate must not need the daemon.
  const code = await main(['validate', file, '--socket', '/nonexistent/openstarryd.sock'], io);
  return { code, stdout: io.stdout, stderr: io.stderr };
}

t.test('agent manifests', async (t) => {
  const cwd = t.testdir({
    good: { 'agent.json': good, 'pump.js': 'export default { name: "pump", start() {} };' },
    bad: {
      'agent.json': JSON.stringify({ id: 'Bad Id', version: '1', plugins: ['/abs.js'], limits: { memoryMb: 1 }, extra: true }),
    },
    noplugin: { 'agent.json': good },
    'broken.json': '{ "plugins": [',
  });

  let r = await validate(cwd, 'good/agent.json');
  t.same(r, { code: 0, stdout: ['good/agent.json: ok (agent manifest)'], stderr: [] });

  r = await validate(cwd, 'bad/agent.json');
  t.equal(r.code, 1);
  t.same(r.stdout, []);
  const paths = r.stderr.map((l) => l.split(': ')[1]);
  t.same(paths.sort(), ['extra', 'id', 'limits.memoryMb', 'plugins.0', 'version'], 'every problem, each with its field path');
  t.ok(r.stderr.every((l) => l.startsWith('bad/agent.json: ')), 'each line names the file');

  r = await validate(cwd, 'noplugin/agent.json');
  t.equal(r.code, 1);
  t.match(r.stderr, [/^noplugin\/agent\.json: plugins\.0: plugin file "\.\/pump\.js" does not exist/]);

  r = await validate(cwd, 'broken.json');
  t.equal(r.code, 1);
  t.match(r.stderr, [/^broken\.json: \(document\): not valid JSON: /]);

  r = await validate(cwd, 'nothere.json');
  t.equal(r.code, 1);
  t.match(r.stderr, [/^openstarry: cannot read nothere\.json: /]);
});

t.test('daemon configs', async (t) => {
  const cwd = t.testdir({
    'ok.yaml': 'deviceId: greenhouse-1\nboard: sim\n',
    'bad.yml': 'deviceId: "has spaces"\nmasterAgnet: x\nagents:\n  stopGraceMs: -1\n',
  });
  let r = await validate(cwd, 'ok.yaml');
  t.same(r, { code: 0, stdout: ['ok.yaml: ok (daemon config)'], stderr: [] });

  r = await validate(cwd, 'bad.yml');
  t.equal(r.code, 1);
  t.equal(r.stderr.length, 3, 'every problem listed');
  t.ok(r.stderr.every((l) => l.startsWith('bad.yml: ')));
  t.match(r.stderr.join('\n'), /bad\.yml: deviceId: /);
  t.match(r.stderr.join('\n'), /bad\.yml: agents\.stopGraceMs: /);
});

t.test('rules files, board profiles and unknown files', async (t) => {
  const cwd = t.testdir({
    'orchestration.yaml': 'rules:\n  - on: "git:commit_pushed"\n    if: "branch == \'main\'"\n    action: "spawn(code-reviewer-agent)"\n  - on: "alert:server_down"\n    action: "spawn(devops-agent)"\n',
    'bad-rules.yaml': 'rules:\n  - on: "a"\n    action: "spawn(x)"\n  - on: "b"\n    if: "foo(1)"\n    action: "explode(x)"\n',
    'rpi-4b.json': JSON.stringify({ name: 'rpi-4b', title: 'x', match: { model: [], compatible: [] }, gpio: { chips: [] } }),
    'notes.txt': 'hello',
    'other.json': '{"a":1}',
  });
  let r = await validate(cwd, 'orchestration.yaml');
  t.same(r, { code: 0, stdout: ['orchestration.yaml: ok (orchestration rules)'], stderr: [] }, "the specification's example validates unchanged");
  r = await validate(cwd, 'bad-rules.yaml');
  t.equal(r.code, 1);
  t.match(r.stderr.join('\n'), 'bad-rules.yaml: rules[1].if: unknown function "foo"', 'an unknown function names the rule index and field');
  t.match(r.stderr.join('\n'), 'bad-rules.yaml: rules[1].action: "explode(x)" is not an action', 'every problem is listed');
  r = await validate(cwd, 'rpi-4b.json');
  t.equal(r.code, 1);
  t.match(r.stderr.join('\n'), /rpi-4b\.json: i2c: .*\n.*rpi-4b\.json: serial: /, 'every problem of the profile, with its field');
  r = await validate(path.resolve(import.meta.dirname, '../../board-profiles'), 'rpi-5.json');
  t.same(r, { code: 0, stdout: ['rpi-5.json: ok (board profile)'], stderr: [] }, 'a shipped profile validates');
  for (const f of ['notes.txt', 'other.json']) {
    r = await validate(cwd, f);
    t.equal(r.code, 1);
    t.match(r.stderr, [new RegExp(`^openstarry: cannot tell what kind of file ${f.replace('.', '\\.')} is`)]);
  }
});

t.test('detectKind', async (t) => {
  t.same(detectKind('a.json', good), { kind: 'agent manifest' });
  t.same(detectKind('a.YML', 'rules: []'), { kind: 'orchestration rules' });
  t.same(detectKind('a.yaml', '{{{'), { kind: 'daemon config' }, 'the config loader reports YAML syntax errors');
  t.same(detectKind('a.json', '[1]'), { unknown: true });
});
