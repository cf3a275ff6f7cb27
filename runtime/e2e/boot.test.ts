// End to end: the real daemon booting, reporting its phases, refusing bad configs and templates, and shutting
// down cleanly — driven only through the CLI (telling systemd it is ready: systemd.test.ts).
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { DaemonStatus, IAgentStatus, TemplatesResult } from '../control/protocol.ts';
import { agentFixture, idlePlugin, startDaemon, templatesWithConfig, tempDir, writeTree } from './harness.ts';

t.test('boots with no config at all: sim board, every phase done, master agent running', async (t) => {
  const d = await startDaemon(t);
  const status = await d.json<DaemonStatus>('status');
  t.match(status, { state: 'ready', phase: 'ready', board: { name: 'sim' }, degraded: [], link: { state: 'connected', protocolVersion: 4, broker: { state: 'running', host: '127.0.0.1' } } });
  t.same(status.phases.map((p) => [p.name, p.state]), [['control', 'done'], ['infrastructure', 'done'], ['board', 'done'], ['hal', 'done'], ['design', 'done'], ['master', 'done'], ['recovery', 'done'], ['rules', 'done']]);
  t.ok(status.phases.every((p) => typeof p.durationMs === 'number'), 'each phase has a duration');
  t.ok(status.templates.valid >= 2, 'shipped templates loaded');
  const ps = await d.json<IAgentStatus[]>('ps');
  t.match(ps, [{ agentId: 'master', template: 'master', isolation: 'worker', state: 'running', pid: status.masterPid }]);
  const templates = await d.json<TemplatesResult>('templates');
  t.ok(templates.templates.some((x) => x.id === 'hello-sensor' && /^[0-9a-f]{64}$/.test(x.hash)), 'templates listed with hashes');
  const human = await d.cli('status');
  t.equal(human.code, 0);
  t.match(human.stdout, /sim/);
  for (const phase of ['infrastructure', 'board', 'hal', 'design', 'master']) t.match(d.log(), new RegExp(`phase ${phase} (done|degraded)`), `phase ${phase} in the log`);
  t.equal(statSync(d.socket).mode & 0o777, 0o660, 'control socket is mode 0660');
});

t.test('SIGTERM stops agents in reverse start order and exits 0', async (t) => {
  const d = await startDaemon(t);
  t.equal((await d.cli('spawn', 'hello-sensor')).code, 0);
  d.child.kill('SIGTERM');
  t.equal(await d.exited, 0);
  const log = d.log();
  const helloStop = log.indexOf('hello-sensor[2] stopping after');
  const masterStop = log.indexOf('master agent stopping');
  t.ok(helloStop > 0 && masterStop > helloStop, 'hello-sensor (started last) is stopped before master');
  t.match(log, /stopped$/m);
  t.notOk(existsSync(d.socket), 'socket removed');
});

t.test('`openstarry start --config FILE` runs the daemon in the foreground; SIGINT stops it with exit 0', async (t) => {
  const dir = tempDir(t);
  const { config } = templatesWithConfig(dir, {}, 'deviceId: bench-7\n');
  const d = await startDaemon(t, { viaCli: true, args: ['--config', config] });
  const status = await d.json<DaemonStatus>('status');
  t.match(status, { state: 'ready', deviceId: 'bench-7', configFile: config });
  d.child.kill('SIGINT');
  t.equal(await d.exited, 0);
  t.match(d.log(), /SIGINT received, shutting down/);
});

t.test('an invalid template is reported with its file and field, and excluded; the rest boots', async (t) => {
  const dir = tempDir(t);
  const { config } = templatesWithConfig(dir, {
    broken: agentFixture({ id: 'broken', plugins: ['./main.js'], limits: { memoryMb: 1 } }, { 'main.js': idlePlugin() }),
    garbled: { 'agent.json': '{ not json' },
  });
  const d = await startDaemon(t, { args: ['--config', config] });
  const status = await d.json<DaemonStatus>('status');
  t.equal(status.state, 'ready');
  t.same(status.degraded, ['templates-excluded:2']);
  t.equal(status.phases.find((p) => p.name === 'design')?.state, 'degraded');
  const broken = status.templates.invalid.find((x) => x.file.endsWith(path.join('broken', 'agent.json')));
  t.match(broken?.error, /limits\.memoryMb/);
  t.match(status.templates.invalid.find((x) => x.file.endsWith(path.join('garbled', 'agent.json')))?.error, /not valid JSON/);
  const spawn = await d.cli('spawn', 'broken');
  t.equal(spawn.code, 1);
  t.match(spawn.stderr, /ERR_TEMPLATE_INVALID|is invalid and was excluded/);
  t.match(d.log(), /template excluded: .*broken/);
});

t.test('a missing master template fails the boot with exit code 1 and a clear reason', async (t) => {
  const dir = tempDir(t);
  writeTree(path.join(dir, 'templates'), { 'hello-sensor': agentFixture({ id: 'hello-sensor', plugins: ['./main.js'] }, { 'main.js': idlePlugin() }) });
  writeTree(dir, { 'openstarry.yaml': 'templates:\n  dir: ./templates\n' });
  const d = await startDaemon(t, { args: ['--config', path.join(dir, 'openstarry.yaml')], waitReady: false });
  t.equal(await d.exited, 1);
  t.match(d.log(), /boot failed: master agent template "master" is not usable: no template "master"/);
});

t.test('an invalid master template fails the boot with the field that is wrong', async (t) => {
  const dir = tempDir(t);
  writeTree(path.join(dir, 'templates'), { master: agentFixture({ id: 'master', plugins: ['./missing.js'] }, {}) });
  writeTree(dir, { 'openstarry.yaml': 'templates:\n  dir: ./templates\n' });
  const d = await startDaemon(t, { args: ['--config', path.join(dir, 'openstarry.yaml')], waitReady: false });
  t.equal(await d.exited, 1);
  t.match(d.log(), /boot failed: master agent template "master" is not usable: .*plugins\.0: plugin file "\.\/missing\.js" does not exist/s);
});

t.test('a master agent that crashes at start fails the boot', async (t) => {
  const dir = tempDir(t);
  writeTree(path.join(dir, 'templates'), { master: agentFixture({ id: 'master', plugins: ['./main.js'] }, { 'main.js': "export default { name: 'm', start() { throw new Error('no luck'); } };" }) });
  writeTree(dir, { 'openstarry.yaml': 'templates:\n  dir: ./templates\n' });
  const d = await startDaemon(t, { args: ['--config', path.join(dir, 'openstarry.yaml')], waitReady: false });
  t.equal(await d.exited, 1);
  t.match(d.log(), /master agent "master" did not come online: crashed \(ERR_PLUGIN_START_FAILED: plugin "m" failed to start: no luck\)/);
});

t.test('an invalid config fails the boot naming the file and the field', async (t) => {
  const dir = tempDir(t);
  writeTree(dir, { 'bad.yaml': 'masterAgnet: master\nagents:\n  stopGraceMs: soon\n' });
  const d = await startDaemon(t, { args: ['--config', path.join(dir, 'bad.yaml')], waitReady: false });
  t.equal(await d.exited, 1);
  t.match(d.log(), new RegExp(`${path.join(dir, 'bad.yaml')}: agents\\.stopGraceMs: `));
  t.match(d.log(), /masterAgnet/);
});
