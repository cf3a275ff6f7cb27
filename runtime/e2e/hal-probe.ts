/**
 * A probe agent for tests that prove the daemon on another runtime (Node 22/24, arm64 under qemu): it reads
 * env0.temperature through the HAL, then tries what an agent must not do, and logs each outcome:
 *   'reading'      { ok, node: process.version, arch: process.arch }
 *   'refused X'    { code } for importing node:fs and /dev/null (the module sandbox)
 *   'permissions'  what Node's permission model grants the isolate's real process (reached by the prototype trick
 *                  the hardening is tested against): /dev reads, writes, child processes; { model: 'off' } when
 *                  there is none (a worker shares the daemon's process). Its last line.
 */
import { agentFixture } from './harness.ts';

const PROBE = `import { EventEmitter } from 'node:events';
export default {
  name: 'probe',
  async start(ctx) {
    const temperature = await ctx.hal.getSensorData('env0.temperature');
    ctx.log.info('reading', { ok: typeof temperature === 'number' && temperature > -40 && temperature < 85, node: process.version, arch: process.arch });
    for (const [name, load] of [['node:fs', () => import('node:fs')], ['/dev/null', () => import('file:///dev/null')]]) {
      try { await load(); ctx.log.info('ALLOWED ' + name); } catch (e) { ctx.log.info('refused ' + name, { code: e.code }); }
    }
    const emit = EventEmitter.prototype.emit;
    let real;
    EventEmitter.prototype.emit = function (...a) { if (this && typeof this.pid === 'number' && this !== process) real = this; return emit.apply(this, a); };
    process.emitWarning('probe');
    await new Promise((r) => setTimeout(r, 20));
    EventEmitter.prototype.emit = emit;
    const p = real?.permission;
    ctx.log.info('permissions', p ? { devRead: p.has('fs.read', '/dev/null'), devMem: p.has('fs.read', '/dev/mem'), write: p.has('fs.write', '/tmp'), child: p.has('child') } : { model: 'off' });
    this.t = setInterval(() => {}, 60000);
  },
  stop() { clearInterval(this.t); },
};
`;

/** The template folder of `probe-<isolation>` (for templatesWithConfig). */
export function halProbe(isolation: 'worker' | 'process'): Record<string, string> {
  return agentFixture({ id: `probe-${isolation}`, plugins: ['./main.js'], isolation, capabilities: ['sensor:env0:read'], restart: { policy: 'never' } }, { 'main.js': PROBE });
}

/** What the permission model must show for a process isolate: nothing granted. */
export const PROCESS_PERMISSIONS = { devRead: false, devMem: false, write: false, child: false };
