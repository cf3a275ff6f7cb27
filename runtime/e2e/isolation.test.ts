// The isolation drivers through the real daemon: `spawn --isolation process` and a manifest asking for it; the
// child's OS pid in ps; the HAL and state over IPC; SIGKILL; /dev and child processes refused from inside.
import path from 'node:path';
import t from 'tap';
import type { IAgentStatus, LogLine } from '../control/protocol.ts';
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

t.test('a process agent: own OS pid, HAL and state over IPC, refusals, SIGTERM and SIGKILL', async (t) => {
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
  t.match(lines.find((l) => l.message === 'reading'), { fields: { ok: true } }, 'the HAL answered over IPC');
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
