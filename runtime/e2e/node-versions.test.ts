// From source on every Node the product must run on besides the host's 20 (README, its opening lines): the built
// bundle booted on Node 22 (the packaged LTS) and on the newest 24, on the sim board, driven by the CLI on the host's
// Node. On each, a worker agent and a process agent read env0.temperature through the HAL, and the process agent is
// still behind both walls: the module sandbox refuses node:fs and /dev imports, and Node's permission model (whose
// flag 22.13+ and 24 spell --permission: permission-flag.ts) grants it no /dev read and no write. One daemon per
// version. The runtimes come from npm, as the package's own (scripts/testing/node-runtime.ts).
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { permissionFlag } from '../isolation/process/permission-flag.ts';
import type { DaemonStatus, IAgentStatus, LogLine } from '../control/protocol.ts';
import { PINNED_NODE, requireNodeRuntime } from '../../scripts/testing/node-runtime.ts';
import { halProbe, PROCESS_PERMISSIONS } from './hal-probe.ts';
import { startDaemon, templatesWithConfig, tempDir } from './harness.ts';

for (const major of [22, 24] as const) {
  t.test(`Node ${major}: the daemon boots; a worker and a process agent read the HAL; the process agent meets both walls`, async (t) => {
    const runtime = await requireNodeRuntime(t, PINNED_NODE[major]);
    if (!runtime) return;
    const dir = tempDir(t);
    const { config } = templatesWithConfig(dir, { 'probe-worker': halProbe('worker'), 'probe-process': halProbe('process') });
    const d = await startDaemon(t, { dir, args: ['--config', config], runtime: [runtime.binary] });
    t.equal(readlinkSync(`/proc/${d.child.pid}/exe`), runtime.binary, `the daemon runs on Node ${runtime.version}`);
    t.equal((await d.json<DaemonStatus>('status')).state, 'ready');
    const cache = path.join(d.home, 'cache', 'v8');
    t.ok(existsSync(cache) && readdirSync(cache).length > 0, `Node ${major}: V8's compile cache for the bundle is kept in ${cache} (runtime/daemon/compile-cache.ts)`);

    const logsOf = async (a: IAgentStatus, last: string) => {
      await d.waitFor(`${a.agentId} to finish its checks`, async () => (await d.cli('logs', a.pid)).stdout.includes(last));
      return d.jsonLines<LogLine>('logs', a.pid);
    };
    const worker = await d.json<IAgentStatus>('spawn', 'probe-worker');
    const child = await d.json<IAgentStatus>('spawn', 'probe-process');
    t.match(worker, { isolation: 'worker', state: 'running' });
    t.match(child, { isolation: 'process', state: 'running' });

    for (const [agent, isolation] of [[worker, 'worker'], [child, 'process']] as const) {
      const lines = await logsOf(agent, 'permissions');
      t.match(lines.find((l) => l.message === 'reading')?.fields, { ok: true, node: `v${runtime.version}` }, `${isolation}: env0.temperature through the HAL, on Node ${runtime.version}`);
      t.match(lines.find((l) => l.message === 'refused node:fs')?.fields, { code: 'ERR_ISOLATE_DENIED' }, `${isolation}: node:fs refused by the module sandbox`);
      t.ok(lines.some((l) => l.message === 'refused /dev/null'), `${isolation}: importing /dev/null refused`);
      if (isolation === 'process') {
        t.same(lines.find((l) => l.message === 'permissions')?.fields, PROCESS_PERMISSIONS, 'process: the permission model grants no /dev read, no write, no child process');
      }
    }
    const cmdline = readFileSync(`/proc/${child.osPid}/cmdline`, 'utf8').split('\0');
    t.equal(cmdline[0], runtime.binary, 'the process agent runs on the same Node as its daemon');
    t.ok(cmdline.includes(permissionFlag(`v${runtime.version}`)), `its permission flag as Node ${runtime.version} spells it (${permissionFlag(`v${runtime.version}`)})`);

    t.match(await d.json<IAgentStatus>('kill', child.pid), { state: 'exited', exitCode: 0 });
    t.match(await d.json<IAgentStatus>('kill', worker.pid), { state: 'exited', exitCode: 0 });
    t.notMatch(d.log(), /DeprecationWarning|ExperimentalWarning|bad option/, 'no warning from Node in the daemon log');
  });
}
