// orchestration.yaml: the specification's example loads unchanged; extensions compile; every problem names the file,
// the rule index and the field; loadRulesFile reads from disk; the shipped example validates.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { ErrorCode, OpenStarryError } from '../core/errors.ts';
import { loadRulesFile, parseRulesFile, rulesPath } from './rules-loader.ts';

const SPEC_EXAMPLE = `# orchestration.yaml
rules:
  - on: "git:commit_pushed"
    if: "branch == 'main'"
    action: "spawn(code-reviewer-agent)"

  - on: "alert:server_down"
    action: "spawn(devops-agent)"
`;

function problems(text: string): string[] {
  try {
    parseRulesFile(text, 'orchestration.yaml');
  } catch (err) {
    if (!(err instanceof OpenStarryError)) throw err;
    const details = err.details as { file: string; problems: { path: string; message: string }[] };
    return details.problems.map((p) => `${p.path}: ${p.message}`);
  }
  return [];
}

t.test('the specification example loads as written', async (t) => {
  const set = parseRulesFile(SPEC_EXAMPLE, 'orchestration.yaml');
  t.equal(set.rules.length, 2);
  const [review, devops] = set.rules;
  t.match(review, { index: 0, label: 'rules[0]', on: 'git:commit_pushed', actions: [{ verb: 'spawn', target: 'code-reviewer-agent' }], cooldownMs: 0, edge: false, enabled: true });
  t.equal(review?.condition?.evaluate({ name: 'git:commit_pushed', source: 'mqtt', data: { branch: 'main' } }).value, true);
  t.equal(review?.condition?.evaluate({ name: 'git:commit_pushed', source: 'mqtt', data: { branch: 'dev' } }).value, false);
  t.match(devops, { on: 'alert:server_down', condition: undefined, actions: [{ verb: 'spawn', target: 'devops-agent' }] });
  t.same(set.timers, []);
  t.same(set.sensors, []);
});

t.test('extensions: names, cooldowns, patterns, several and object actions, timers, sensors, gpio, edge', async (t) => {
  const set = parseRulesFile(
    `
timers:
  - { name: hourly, every: 1h }
  - { name: fast, every: 500 }
rules:
  - name: review
    on: "git:*"
    cooldown: 30s
    actions:
      - "spawn(code-reviewer-agent)"
      - { publish: ci/review_requested, data: { by: rules } }
      - { notify: devops-agent }
  - on: "sensor:env0.temperature"
    every: 2s
    if: "value > 30.0"
    edge: true
    action: { publish: climate/too_hot }
  - on: "sensor:env0.temperature"
    if: "value < 5.0"
    action: "publish(climate/too_cold)"
  - on: "gpio:pir:rising"
    cooldownMs: 1500
    action: "spawn(motion-camera)"
  - on: "timer:hourly"
    action: kill(motion-camera)
  - on: "agent:*:crashed"
    enabled: false
    action: "publish(alert/agent_crashed)"
`,
    'o.yaml',
  );
  const [review, hot, , pir, , crashed] = set.rules;
  t.match(review, { label: 'review', cooldownMs: 30_000 });
  t.same(review?.actions, [
    { verb: 'spawn', target: 'code-reviewer-agent' },
    { verb: 'publish', target: 'ci/review_requested', data: { by: 'rules' } },
    { verb: 'notify', target: 'devops-agent' },
  ]);
  t.ok(review?.matches('git:commit_pushed'));
  t.notOk(review?.matches('alert:server_down'));
  t.match(hot, { edge: true, actions: [{ verb: 'publish', target: 'climate/too_hot' }] });
  t.equal(pir?.cooldownMs, 1500);
  t.equal(crashed?.enabled, false);
  t.same(set.timers, [{ name: 'hourly', everyMs: 3_600_000 }, { name: 'fast', everyMs: 500 }]);
  t.same(set.sensors, [{ device: 'env0', quantity: 'temperature', everyMs: 2000 }], 'one poller per reading, the shortest interval');
  t.same(set.gpioDevices, ['pir']);
  t.equal(set.gpioAllInputs, false);
});

t.test('every problem names the file, the rule index and the field', async (t) => {
  t.same(problems(`rules:\n  - on: a\n    action: spawn(x)\n  - on: b\n    if: "foo(branch)"\n    action: spawn(y)\n`), ['rules[1].if: unknown function "foo"']);
  const err = (() => {
    try {
      parseRulesFile(`rules:\n  - on: a\n    action: spawn(x)\n  - on: b\n    if: "foo(branch)"\n    action: spawn(y)\n`, 'orchestration.yaml');
    } catch (e) {
      return e as OpenStarryError;
    }
    return undefined;
  })();
  t.equal(err?.code, ErrorCode.RULES_INVALID);
  t.equal(err?.message, 'orchestration.yaml: rules[1].if: unknown function "foo"', 'the message format of README "MQTT, remote triggers and rules"');

  t.same(
    problems(`
timers:
  - { name: t1, every: 10 }
  - { name: t1, every: 1s }
rules:
  - on: "a b"
    action: "spawn(x)"
  - on: x
    if: "branch =="
    action: "launch(x)"
  - on: x
    action: "spawn(Bad/Id)"
    cooldown: soon
  - on: x
  - on: x
    action: { spawn: a, kill: b }
  - on: x
    actions: ["spawn(a)", { notify: b, data: 1 }, "publish(a/#)"]
  - on: timer:nope
    action: spawn(a)
  - on: sensor:env0
    every: 1s
    action: spawn(a)
  - on: x
    if: "1 + 2"
    action: spawn(a)
    colour: blue
`),
    [
      'rules[2].cooldown: "soon" is not a duration (a number of ms, or e.g. "500ms", "30s", "5m", "1h")',
      'rules[8].colour: unknown key "colour"',
      'timers[0].every: must be between 100ms and 168h (got 10ms)',
    ],
    'schema problems first (the semantic checks need a well-formed document)',
  );
  t.same(
    problems(`
timers:
  - { name: t1, every: 1s }
  - { name: t1, every: 1s }
rules:
  - on: "a b"
    action: "spawn(x)"
  - on: x
    if: "branch =="
    action: "launch(x)"
  - on: x
    action: "spawn(Bad/Id)"
  - on: x
  - on: x
    action: { spawn: a, kill: b }
  - on: x
    actions: ["spawn(a)", { notify: b, data: 1 }, "publish(a/#)"]
  - on: timer:nope
    action: spawn(a)
  - on: sensor:env0
    every: 1s
    action: spawn(a)
  - on: x
    if: "1 + 2"
    action: spawn(a)
  - on: x
    if: "x.size() > 1 && bar(x)"
    action: spawn(a)
  - on: gpio:pir:up
    action: spawn(a)
`),
    [
      'timers[1].name: duplicate timer name "t1"',
      'rules[0].on: "a b" is not an event pattern (levels of letters, digits, "_", ".", "-" or "*" joined by ":" or "/")',
      'rules[1].if: syntax error: Unexpected token: EOF',
      'rules[1].action: "launch(x)" is not an action (one of spawn(<target>), kill(<target>), notify(<target>), publish(<target>))',
      'rules[2].action: spawn: "Bad/Id" is not an agent or template id (lowercase letters, digits, ".", "_", "-", starting with a letter)',
      'rules[3].action: a rule needs an action (or actions)',
      'rules[4].action: an action object has exactly one of spawn, kill, notify, publish (found spawn, kill)',
      'rules[5].actions[1].data: only publish takes data',
      'rules[5].actions[2]: publish: "a/#" is not an event name (levels of letters, digits, "_", "." or "-" joined by ":" or "/")',
      'rules[6].on: no timer named "nope" in timers',
      'rules[7].on: a sensor rule names one reading: sensor:<device>.<quantity> (no "*")',
      'rules[7].every: only sensor rules (on: sensor:<device>.<quantity>) take a polling interval',
      'rules[8].if: must be a boolean expression (it is int)',
      'rules[9].if: unknown function "bar"',
      'rules[10].on: a GPIO rule is gpio:<device>:rising|falling|*',
    ],
  );
});

t.test('document-level problems: YAML syntax, wrong shapes, missing rules, duplicate keys', async (t) => {
  t.match(problems('rules: [\n'), [/^: not valid YAML: .* at line \d+, column \d+$/]);
  t.same(problems('{}'), ['rules: Invalid input: expected array, received undefined']);
  t.same(problems(''), ['rules: Invalid input: expected array, received undefined'], 'an empty file has no rules key');
  t.same(problems('rules: {}'), ['rules: Invalid input: expected array, received object']);
  t.match(problems('rules:\n  - on: a\n    on: b\n    action: spawn(x)\n'), [/not valid YAML: .*[Uu]nique|duplicate/i]);
  t.same(problems('rules: []'), [], 'no rules is valid');
  t.match(problems('x'.repeat(300_000)), [/larger than 262144/]);
});

t.test('rulesPath puts indices in brackets', async (t) => {
  t.equal(rulesPath(['rules', 1, 'if']), 'rules[1].if');
  t.equal(rulesPath(['rules', 2, 'actions', 0]), 'rules[2].actions[0]');
  t.equal(rulesPath([]), '');
});

t.test('loadRulesFile reads a file; an unreadable one is ERR_RULES_INVALID naming it', async (t) => {
  const dir = t.testdir({ 'orchestration.yaml': SPEC_EXAMPLE });
  const set = await loadRulesFile(path.join(dir, 'orchestration.yaml'), 'orchestration.yaml');
  t.equal(set.file, 'orchestration.yaml');
  t.equal(set.rules.length, 2);
  await t.rejects(loadRulesFile(path.join(dir, 'missing.yaml')), { code: ErrorCode.RULES_INVALID, message: /missing\.yaml: cannot read rules file/ });
});

t.test('the shipped agents/orchestration.example.yaml validates', async (t) => {
  const file = fileURLToPath(new URL('../../agents/orchestration.example.yaml', import.meta.url));
  const set = await loadRulesFile(file);
  t.ok(set.rules.length >= 3);
  t.ok(set.rules.some((r) => r.on === 'gpio:pir:rising' && r.actions.some((a) => a.verb === 'spawn' && a.target === 'motion-camera')));
  t.ok(set.gpioDevices.includes('pir'));
});
