// The isolation drivers through the real daemon: `spawn --isolation process` and a manifest asking for it; the
// child's OS pid in ps; the HAL and state over its framed channel (fd 3); SIGKILL; /dev and child processes refused from inside.
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { DaemonStatus, IAgentStatus, LogLine } from '../control/protocol.ts';
import { startPodman } from '../../scripts/testing/podman.ts';
import { agentFixture, startDaemon, templatesWithConfig, tempDir } from './harness.ts';

const probe = agentFixture({ id: 'probe', plugins: ['./main.js'], isolation: 'process', capabilities: ['sensor:env0:read'], restart: { policy: 'never' } }, {
  'main.js': `export default {
    name: 'probe',
    async start(ctx) {
      const t = await ctx.hal.getSensorData('env0.temperature');
      ctx.log.info('reading', { ok: typeof t === 'number' && t > -40 && t < 85 });
      ctx.state.set({ seen: (ctx.state.get()?.seen ?? 0) + 1 });
      for (const m of ['node:fs', 'node:child_process']) {
        try { await import(m); ctx.log.info('imported ' + m); } catch (e) { ctx.log.info('refused ' + m, { code: e.code }); }
      }
      await ctx.hal.controlActuator('fan', 'on').then(() => ctx.log.info('fan on?!'), (e) => ctx.log.info('fan refused', { code: e.code }));
      this.t = setInterval(() => {}, 60000);
    },
    stop() { clearInterval(this.t); },
  };\n`,
});

t.test('a process agent: own OS pid, HAL and state over its channel, refusals, SIGTERM and SIGKILL', async (t) => {
  const dir = tempDir(t);
  const { config } = templatesWithConfig(dir, { probe });
  const d = await startDaemon(t, { dir, args: ['--config', config] });
  const s = await d.json<IAgentStatus>('spawn', 'probe');
  t.match(s, { agentId: 'probe', isolation: 'process', state: 'running' });
  t.type(s.osPid, 'number');
  t.not(s.osPid, d.child.pid, 'its own process');
  t.match((await d.cli('ps')).stdout, new RegExp(`${s.pid}\\s+probe\\s+probe\\s+process\\s+running`));
  await d.waitFor('the probe to finish its checks', async () => (await d.cli('logs', s.pid)).stdout.includes('fan refused'));
  const lines = await d.jsonLines<LogLine>('logs', s.pid);
  t.match(lines.find((l) => l.message === 'reading'), { fields: { ok: true } }, 'the HAL answered over the channel');
  t.match(lines.find((l) => l.message === 'refused node:fs'), { fields: { code: 'ERR_ISOLATE_DENIED' } });
  t.match(lines.find((l) => l.message === 'refused node:child_process'), { fields: { code: 'ERR_ISOLATE_DENIED' } });
  t.match(lines.find((l) => l.message === 'fan refused'), { fields: { code: 'ERR_CAPABILITY_DENIED' } });
  await d.waitFor('usage sampled', async () => ((await d.json<IAgentStatus[]>('ps')).find((a) => a.pid === s.pid)?.memoryBytes ?? 0) > 0);

  const term = await d.json<IAgentStatus>('kill', s.pid);
  t.match(term, { state: 'exited', exitCode: 0, reason: 'stopped by SIGTERM' });
  t.throws(() => process.kill(s.osPid ?? 0, 0), { code: 'ESRCH' }, 'the child process is gone');

  // The state it saved hydrates the next instance, which --isolation worker can override.
  const again = await d.json<IAgentStatus>('spawn', 'probe', '--isolation', 'worker');
  t.match(again, { isolation: 'worker', state: 'running' });
  await d.cli('kill', again.pid, '--signal', 'SIGKILL');
  const third = await d.json<IAgentStatus>('spawn', 'probe');
  await d.cli('kill', third.pid, '--signal', 'SIGKILL');
  t.match((await d.json<IAgentStatus[]>('ps')).find((a) => a.pid === third.pid), { state: 'exited', reason: 'stopped by SIGKILL' });
  t.throws(() => process.kill(third.osPid ?? 0, 0), { code: 'ESRCH' }, 'SIGKILL ends the child');
  t.ok(path.isAbsolute(d.home));
});

t.test('a wasm agent: QuickJS in its own thread, HAL through host functions, a busy loop ended by the deadline', async (t) => {
  const dir = tempDir(t);
  const { config } = templatesWithConfig(dir, {
    probe: { ...probe, 'agent.json': JSON.stringify({ ...JSON.parse(probe['agent.json'] ?? '{}'), isolation: 'wasm' }) },
    spinner: agentFixture({ id: 'spinner', plugins: ['./main.js'], isolation: 'wasm', restart: { policy: 'never' } }, {
      'main.js': "export default { name: 's', start(ctx) { setTimeout(() => { for (;;) {} }, 10); } };\n",
    }),
  });
  const d = await startDaemon(t, { dir, args: ['--config', config] });
  const s = await d.json<IAgentStatus>('spawn', 'probe');
  t.match(s, { agentId: 'probe', isolation: 'wasm', state: 'running' });
  t.notOk('osPid' in s, 'no OS process of its own');
  await d.waitFor('the wasm probe to finish its checks', async () => (await d.cli('logs', s.pid)).stdout.includes('fan refused'));
  const lines = await d.jsonLines<LogLine>('logs', s.pid);
  t.match(lines.find((l) => l.message === 'reading'), { fields: { ok: true } });
  t.match(lines.find((l) => l.message === 'refused node:fs'), { fields: { code: 'ERR_ISOLATE_DENIED' } });
  t.match(lines.find((l) => l.message === 'fan refused'), { fields: { code: 'ERR_CAPABILITY_DENIED' } });
  t.match(await d.json<IAgentStatus>('kill', s.pid), { state: 'exited', exitCode: 0 });

  const spin = await d.json<IAgentStatus>('spawn', 'spinner');
  await d.waitFor('the busy loop to be ended', async () => (await d.json<IAgentStatus[]>('ps')).find((a) => a.pid === spin.pid)?.state === 'crashed');
  t.match((await d.json<IAgentStatus[]>('ps')).find((a) => a.pid === spin.pid)?.reason, /deadline|interrupt/i);
  t.match((await d.json<IAgentStatus[]>('ps')).find((a) => a.agentId === 'master'), { state: 'running' }, 'the daemon and the master are unaffected');
});

t.test('a docker agent through the daemon (podman as the engine): container pid, HAL over the mounted socket', async (t) => {
  const engine = await startPodman(t);
  if (!engine) return;
  const dir = tempDir(t);
  const { config } = templatesWithConfig(dir, { probe: { ...probe, 'agent.json': JSON.stringify({ ...JSON.parse(probe['agent.json'] ?? '{}'), isolation: 'docker' }) } });
  appendFileSync(config, `isolation:\n  docker:\n    enabled: true\n    socketPath: ${engine.socketPath}\n    image: ${engine.image}\n`);
  const d = await startDaemon(t, { dir, args: ['--config', config] });
  const status = await d.json<DaemonStatus>('status');
  t.match(status.isolation, { drivers: ['worker', 'process', 'wasm', 'docker'], unavailable: {} });
  const s = await d.json<IAgentStatus>('spawn', 'probe');
  t.match(s, { agentId: 'probe', isolation: 'docker', state: 'running' });
  t.type(s.osPid, 'number');
  await d.waitFor('the docker probe to finish its checks', async () => (await d.cli('logs', s.pid)).stdout.includes('fan refused'), 30_000);
  const lines = await d.jsonLines<LogLine>('logs', s.pid);
  t.match(lines.find((l) => l.message === 'reading'), { fields: { ok: true } });
  t.match(lines.find((l) => l.message === 'refused node:fs'), { fields: { code: 'ERR_ISOLATE_DENIED' } });
  t.match(await d.json<IAgentStatus>('kill', s.pid, '--signal', 'SIGKILL'), { state: 'exited', reason: 'stopped by SIGKILL' });
});

t.test('docker asked for without an engine: the daemon runs, degraded, and says why a docker spawn fails', async (t) => {
  const dir = tempDir(t);
  const { config } = templatesWithConfig(dir, { probe: { ...probe, 'agent.json': JSON.stringify({ ...JSON.parse(probe['agent.json'] ?? '{}'), isolation: 'docker' }) } });
  appendFileSync(config, `isolation:\n  docker:\n    enabled: true\n    socketPath: ${path.join(dir, 'no-engine.sock')}\n`);
  const d = await startDaemon(t, { dir, args: ['--config', config] });
  const status = await d.json<DaemonStatus>('status');
  t.ok(status.degraded.includes('docker-unavailable'));
  t.match(status.isolation?.unavailable.docker, /does not answer/);
  const r = await d.cli('spawn', 'probe');
  t.equal(r.code, 1);
  t.match(r.stderr, /isolation "docker" is not available: docker isolation: the container engine does not answer/);
});
