// End to end (issue 11, `systemctl reload openstarryd`): the real daemon gets SIGHUP (what the unit's ExecReload
// sends) and `openstarry reload`: a rule added to the rules file runs; a template changed on disk reaches the next
// spawn while the running agent keeps its frozen blueprint; a new template folder appears; a broken rules file keeps
// the running rules and is reported with the lines `openstarry validate` prints; a template that stopped validating
// keeps its last good version. Everything is read back through the CLI.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { DaemonStatus, IAgentStatus, LogLine, TemplatesResult } from '../control/protocol.ts';
import type { RunningDaemon } from './harness.ts';
import { agentFixture, startDaemon, tempDir, templatesWithConfig, writeTree } from './harness.ts';

const greeter = (version: string, extra: Record<string, unknown> = {}) =>
  agentFixture({ id: 'greeter', version, plugins: ['./main.js'], ...extra }, {
    'main.js': `export default { name: 'g', start(ctx) { ctx.log.info('greeter ${version} up'); this.t = setInterval(() => {}, 60000); }, stop() { clearInterval(this.t); } };\n`,
  });

const RULE_ONE = '  - on: "demo:one"\n    action: "publish(demo/one)"\n';
const RULE_TWO = '  - on: "demo:two"\n    action: "publish(demo/two)"\n';

/** Waits for the daemon's log to show one more finished reload than `before` (no CLI round trips while waiting). */
async function reloaded(d: RunningDaemon, before: number): Promise<void> {
  await d.waitFor('the reload to finish', async () => (d.log().match(/\breloaded(: | with )/g)?.length ?? 0) > before);
}

const messages = async (d: RunningDaemon, pid: string) => (await d.jsonLines<LogLine>('logs', pid)).map((l) => l.message);

t.test('SIGHUP and openstarry reload: rules and local templates, validated first', async (t) => {
  const dir = tempDir(t);
  const { config, templates } = templatesWithConfig(dir, { greeter: greeter('1.0.0') }, 'orchestration:\n  rules: ./rules.yaml\n');
  const rules = path.join(dir, 'rules.yaml');
  writeFileSync(rules, `rules:\n${RULE_ONE}`);
  const d = await startDaemon(t, { args: ['--config', config] });
  const boot = await d.json<DaemonStatus>('status');
  t.match(boot.orchestration, { rules: 1, rulesFile: rules });
  t.equal(boot.reload, undefined, 'no reload yet');
  const first = await d.json<IAgentStatus>('spawn', 'greeter');
  t.equal(first.state, 'running');

  // A rule added, the template changed, a new template folder: SIGHUP.
  writeFileSync(rules, `rules:\n${RULE_ONE}${RULE_TWO}`);
  writeTree(path.join(templates, 'greeter'), greeter('1.1.0'));
  writeTree(path.join(templates, 'newcomer'), agentFixture({ id: 'newcomer', plugins: ['./main.js'] }, { 'main.js': 'export default { name: "n", start() {} };\n' }));
  d.child.kill('SIGHUP');
  await reloaded(d, 0);
  const status = await d.json<DaemonStatus>('status');
  t.match(status.reload, { trigger: 'signal', ok: true, errors: [], rules: { file: rules, count: 2, replaced: true }, templates: { added: ['newcomer'], changed: ['greeter'], removed: [], kept: [] } });
  t.equal(status.state, 'ready', 'still running');
  t.match(status.orchestration, { rules: 2, perRule: [{ on: 'demo:one' }, { on: 'demo:two' }] });
  t.match(await d.json('emit', 'demo:two'), { accepted: true, fired: 1 }, 'the new rule fires');
  const text = (await d.cli('status')).stdout;
  t.match(text, `rules:      2 rule(s) from ${rules}`);
  t.match(text, /reload: {5}ok at \S+ \(SIGHUP\): 2 rule\(s\), \d+ template\(s\); added newcomer; changed greeter/);
  const listed = await d.json<TemplatesResult>('templates');
  t.match(listed.templates.find((x) => x.id === 'newcomer'), { source: 'local' }, 'the new folder is a template now');
  t.equal(listed.templates.find((x) => x.id === 'greeter')?.version, '1.1.0');
  t.equal(status.agents.running, 2, 'the master and the greeter spawned before the reload, left alone');
  t.same(await messages(d, first.pid), ['greeter 1.0.0 up'], 'it keeps its frozen blueprint');
  t.match(await d.json<IAgentStatus>('kill', first.pid), { state: 'exited' });
  const second = await d.json<IAgentStatus>('spawn', 'greeter');
  t.same(await messages(d, second.pid), ['greeter 1.1.0 up'], 'the next spawn runs the new version');

  // The rules file broken and the template made invalid: `openstarry reload` (the same code path) reports both.
  writeFileSync(rules, `rules:\n${RULE_ONE}${RULE_TWO}  - on: "demo:three"\n    if: "nope(1)"\n    action: "publish(demo/three)"\n`);
  writeTree(path.join(templates, 'greeter'), greeter('1.2.0', { limits: { memoryMb: 1 } }));
  const validated = await d.cli('validate', rules);
  t.equal(validated.code, 1);
  const manifest = path.join(templates, 'greeter', 'agent.json');
  const reload = await d.cli('reload');
  t.equal(reload.code, 1, 'problems: exit 1');
  t.match(reload.stdout, /^reload: 2 problem\(s\) at \S+ \(openstarry reload\): 2 rule\(s\) \(not replaced\), \d+ template\(s\); last good version kept: greeter\n$/);
  const reported = reload.stderr.trim().split('\n');
  t.equal(reported.length, 2);
  t.equal(reported[0], validated.stderr.trim(), 'the rules problem exactly as `openstarry validate` prints it');
  t.match(reported[0], `${rules}: rules[2].if: `);
  t.match(reported[1], `${manifest}: limits.memoryMb: `);
  t.match(d.log(), `reload: ${rules}: rules[2].if: `, 'logged with file: field: reason');
  const after = await d.json<DaemonStatus>('status');
  t.match(after.orchestration, { rules: 2 }, 'the running rules stay');
  t.match(after.reload, { trigger: 'control', ok: false });
  t.ok(after.degraded.some((f) => f.startsWith('templates-excluded:')), 'status says a template is in trouble');
  t.equal((await d.json<TemplatesResult>('templates')).templates.find((x) => x.id === 'greeter')?.version, '1.1.0', 'greeter keeps its last good version');
  t.match(await d.json('emit', 'demo:two'), { accepted: true, fired: 1 }, 'the old rules still fire');
});

t.test("openstarry reload rotates the dashboard's token: the new one works at once, the old one gets 401", async (t) => {
  const dir = tempDir(t);
  const tokenFile = path.join(dir, 'dashboard-token');
  const OLD = 'e2e-old-token-0123456789abcdef';
  const NEW = 'e2e-new-token-0123456789abcdef';
  writeFileSync(tokenFile, `${OLD}\n`, { mode: 0o600 });
  const { config } = templatesWithConfig(dir, {}, `dashboard:\n  listen: 127.0.0.1:0\n  tokenFile: ${tokenFile}\n`);
  const d = await startDaemon(t, { args: ['--config', config] });
  const url = (await d.json<DaemonStatus>('status')).dashboard?.url;
  t.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  // A kill of a pid that does not exist: authorised, it is a 404; refused, a 401. Nothing else changes.
  const kill = async (token: string) => (await fetch(`${url}api/agents/999/kill`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })).status;
  t.equal(await kill(OLD), 404);
  writeFileSync(tokenFile, `${NEW}\n`);
  t.equal(await kill(OLD), 404, 'a new file alone changes nothing until the reload');
  const rotated = await d.cli('reload');
  t.equal(rotated.code, 0);
  t.match(rotated.stdout, /reload: ok at .*; dashboard token rotated/);
  t.equal(await kill(OLD), 401, 'the old token is refused');
  t.equal(await kill(NEW), 404, 'the new one works, without a restart');
  writeFileSync(tokenFile, 'short\n');
  const kept = await d.cli('reload');
  t.equal(kept.code, 1, 'a file without a token is a problem');
  t.match(kept.stdout, /dashboard token kept/);
  t.match(kept.stderr, /dashboard\.tokenFile .*at least 16/);
  t.equal(await kill(NEW), 404, 'and the token in force stays');
});
