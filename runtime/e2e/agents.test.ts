// End to end: spawn / ps / kill with both signals / uniqueness / logs / frozen blueprints, through the CLI.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { IAgentStatus, LogLine } from '../control/protocol.ts';
import { agentFixture, idlePlugin, startDaemon, templatesWithConfig, tempDir, writeTree } from './harness.ts';

t.test('spawn, ps, uniqueness, kill with SIGTERM and SIGKILL', async (t) => {
  const d = await startDaemon(t);
  const spawned = await d.cli('spawn', 'hello-sensor');
  t.equal(spawned.code, 0, spawned.stderr);
  const pid = spawned.stdout.trim();
  t.match(pid, /^\d+$/, 'prints the pid');

  const ps = await d.json<IAgentStatus[]>('ps');
  t.match(ps.find((a) => a.pid === pid), { agentId: 'hello-sensor', state: 'running', isolation: 'worker', template: 'hello-sensor' });
  const table = await d.cli('ps');
  t.match(table.stdout, /PID\s+AGENT\s+TEMPLATE\s+ISOLATION\s+STATE/);
  t.match(table.stdout, new RegExp(`${pid}\\s+hello-sensor\\s+hello-sensor\\s+worker\\s+running`));

  const dup = await d.cli('spawn', 'hello-sensor');
  t.equal(dup.code, 1, 'a second live instance is refused');
  t.match(dup.stderr, /already running as pid/);

  const term = await d.cli('kill', pid);
  t.equal(term.code, 0, term.stderr);
  const afterTerm = (await d.json<IAgentStatus[]>('ps')).find((a) => a.pid === pid);
  t.match(afterTerm, { state: 'exited', exitCode: 0, reason: 'stopped by SIGTERM' });
  t.match((await d.jsonLines<LogLine>('logs', pid)).at(-1)?.message, /^stopping after \d+ ticks$/, 'stop(ctx) ran: the abort listener logged');

  const again = await d.json<IAgentStatus>('spawn', 'hello-sensor');
  t.equal(again.state, 'running');
  t.not(again.pid, pid, 'a new pid');
  const kill = await d.cli('kill', again.pid, '--signal', 'SIGKILL');
  t.equal(kill.code, 0, kill.stderr);
  t.match((await d.json<IAgentStatus[]>('ps')).find((a) => a.pid === again.pid), { state: 'exited', reason: 'stopped by SIGKILL' });

  t.equal((await d.cli('kill', '999')).code, 1, 'unknown pid fails');
  t.match((await d.json<IAgentStatus[]>('ps')).find((a) => a.agentId === 'master'), { state: 'running' }, 'master unaffected');
});

t.test('spawn from a manifest path; logs by pid and by agent id; SIGTERM grace then terminate', async (t) => {
  const dir = tempDir(t);
  writeTree(path.join(dir, 'stubborn'), agentFixture({ id: 'stubborn', plugins: ['./main.js'], stopGraceMs: 300 }, {
    'main.js': "export default { name: 's', start(ctx) { ctx.log.info('up', { n: 1 }); setInterval(() => {}, 1000); }, stop() { return new Promise(() => {}); } };",
  }));
  const d = await startDaemon(t);
  const s = await d.json<IAgentStatus>('spawn', path.join(dir, 'stubborn', 'agent.json'));
  t.match(s, { agentId: 'stubborn', state: 'running', template: path.join(dir, 'stubborn', 'agent.json') });
  const logs = await d.cli('logs', 'stubborn');
  t.match(logs.stdout, /info\s+stubborn\[\d+\] up/);
  const byPid = await d.jsonLines<LogLine>('logs', s.pid);
  t.match(byPid, [{ level: 'info', message: 'up', fields: { n: 1 }, agentId: 'stubborn' }]);
  const kill = await d.json<IAgentStatus>('kill', s.pid);
  t.match(kill, { state: 'exited', reason: 'stopped by SIGTERM; terminated after the grace period' });
});

t.test('the blueprint is frozen at spawn: disk edits change nothing until the agent is spawned again', async (t) => {
  const dir = tempDir(t);
  const agentDir = path.join(dir, 'flaky');
  // Crashes 200 ms after start, restarts (same blueprint), and logs its version each time.
  writeTree(agentDir, agentFixture({ id: 'flaky', plugins: ['./main.js'], restart: { policy: 'on-failure', maxRestarts: 1, backoffMs: 50 }, config: { v: 'one' } }, {
    'main.js': "import { VERSION } from './version.js';\nexport default { name: 'f', start(ctx) { ctx.log.info(`code ${VERSION} config ${ctx.config.v}`); setTimeout(() => { throw new Error('flake'); }, 200); } };",
    'version.js': "export const VERSION = 'v1';",
  }));
  const d = await startDaemon(t);
  const manifest = path.join(agentDir, 'agent.json');
  const first = await d.json<IAgentStatus>('spawn', manifest);
  writeFileSync(path.join(agentDir, 'version.js'), "export const VERSION = 'v2';");
  writeFileSync(manifest, JSON.stringify({ id: 'flaky', version: '1.0.0', plugins: ['./main.js'], config: { v: 'two' } }));
  await d.waitFor('the policy restart and the give-up', async () => (await d.json<IAgentStatus[]>('ps')).find((a) => a.pid === first.pid)?.state === 'crashed');
  const lines = (await d.jsonLines<LogLine>('logs', first.pid)).map((l) => l.message);
  t.same(lines.filter((m) => m.startsWith('code')), ['code v1 config one', 'code v1 config one'], 'the restart ran the frozen blueprint');
  const second = await d.json<IAgentStatus>('spawn', manifest);
  const newLines = (await d.jsonLines<LogLine>('logs', second.pid)).map((l) => l.message);
  t.same(newLines, ['code v2 config two'], 'a new spawn reads the files again');
});

t.test('spawn by template id from a custom template folder, and --isolation the build lacks', async (t) => {
  const dir = tempDir(t);
  const { config } = templatesWithConfig(dir, { quiet: agentFixture({ id: 'quiet', plugins: ['./main.js'] }, { 'main.js': idlePlugin('quiet up') }) });
  const d = await startDaemon(t, { args: ['--config', config] });
  const s = await d.json<IAgentStatus>('spawn', 'quiet');
  t.equal(s.state, 'running');
  const docker = await d.cli('spawn', 'hello-sensor', '--isolation', 'docker');
  t.equal(docker.code, 1);
  t.match(docker.stderr, /isolation "docker" is not available/);
  const unknown = await d.cli('spawn', 'no-such-template');
  t.equal(unknown.code, 1);
  t.match(unknown.stderr, /no template "no-such-template"/);
});
