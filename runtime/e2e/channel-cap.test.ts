// End to end (issue 13, finding 2): real agents in the built daemon, one per isolation (process, worker, wasm),
// each sending one 200 MB message — through a log line (text and fields), a HAL call, and events.publish. The
// daemon's peak RSS (VmHWM, read from /proc) stays within +60 MB of what it was before the attacks, and `status`
// answers throughout. What each path does with it:
//   HAL call        the channel cap: the agent is stopped with `message-too-large: <n> bytes > 1048576`, counted
//                   in `status` (channels.refused).
//   log             cut, not refused (README "Resource limits"): the line keeps its first 8 KiB and ends `… [cut N chars]`,
//                   fields over 8 KiB become a note of their size; the agent keeps running.
//   events.publish  refused inside the isolate, data over 64 KiB (ERR_EVENT_INVALID), without building the JSON.
//
// The 200 MB is 200 references to one 1 MiB string: the agent itself holds 1 MiB (its own heap — for a worker
// or wasm agent, inside the daemon's process — is not what is measured), while the message, serialised, is
// 200 MB. Before the cap (Node IPC for process, unchecked postMessage for worker/wasm) the daemon took it whole:
// measured with this attack on the previous build, peak RSS 107 -> 705 MB (process HAL call, memoryMb 1024, as the
// red team's agent had), 150 -> 550 MB (worker HAL call). The process agent gets 1024 MB here for the same reason:
// with less its child is stopped by memory-limit while it serialises, before the daemon has read it all.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { DaemonStatus, IAgentStatus, LogLine } from '../control/protocol.ts';
import type { RunningDaemon } from './harness.ts';
import { agentFixture, startDaemon, tempDir, writeTree } from './harness.ts';

// Nine agents spawned one after another, each waited for: more than tap's default 120 s on a loaded 2-core machine.
t.setTimeout(6 * 60_000);

const MB = 1024 * 1024;
/** The daemon's peak resident set so far (VmHWM): a transient 200 MB buffer shows here even once freed. */
function peakRssBytes(pid: number): number {
  const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

const HUGE = "const mb = 'x'.repeat(1024 * 1024); const huge = new Array(200).fill(mb);";
const ATTACKS: Record<string, string> = {
  log: `${HUGE} ctx.log.info(mb, { huge }); ctx.log.info('LOGGED');`,
  hal: `${HUGE} ctx.hal.controlActuator('fan', huge).then(() => ctx.log.info('ANSWERED'), (e) => ctx.log.info('REFUSED ' + e.code));`,
  events: `${HUGE} ctx.events.publish('telemetry/huge', huge).then(() => ctx.log.info('PUBLISHED'), (e) => ctx.log.info('REFUSED ' + e.code));`,
};

function plugin(attack: string): string {
  return `export default { name: 'hog', start(ctx) {
    this.keep = setInterval(() => {}, 60000);
    setTimeout(() => { ${attack} }, 50);
  }, stop() { clearInterval(this.keep); } };\n`;
}

const latest = async (d: RunningDaemon, agentId: string) => (await d.json<IAgentStatus[]>('ps')).filter((a) => a.agentId === agentId).at(-1);

t.test('a 200 MB message on any isolate channel stops its agent; the daemon stays lean and answers', async (t) => {
  const dir = tempDir(t);
  const d = await startDaemon(t);
  const daemonPid = d.child.pid as number;
  const before = peakRssBytes(daemonPid);
  let refused = 0;
  for (const isolation of ['process', 'worker', 'wasm']) {
    for (const [via, attack] of Object.entries(ATTACKS)) {
      const id = `hog-${isolation}-${via}`;
      writeTree(path.join(dir, id), agentFixture({ id, plugins: ['./main.js'], isolation, limits: { memoryMb: isolation === 'process' ? 1024 : 128 } }, { 'main.js': plugin(attack) }));
      const r = await d.cli('spawn', path.join(dir, id, 'agent.json'));
      t.equal(r.code, 0, `${id} spawned: ${r.stderr}`);
      if (via === 'events') {
        await d.waitFor(`${id} to be refused`, async () => (await d.jsonLines<LogLine>('logs', id)).some((l) => l.message.startsWith('REFUSED ')), 30_000);
        t.ok((await d.jsonLines<LogLine>('logs', id)).some((l) => l.message === 'REFUSED ERR_EVENT_INVALID'), `${id}: refused inside the isolate (over 64 KiB)`);
        t.match(await latest(d, id), { state: 'running' }, `${id}: a refused publish is an error to the agent, not a crash`);
        t.equal((await d.cli('kill', id)).code, 0);
      } else if (via === 'log') {
        await d.waitFor(`${id} to log on`, async () => (await d.jsonLines<LogLine>('logs', id)).some((l) => l.message === 'LOGGED'), 30_000);
        const cut = (await d.jsonLines<LogLine>('logs', id)).find((l) => l.message.startsWith('xxxx'));
        t.match(cut?.message, new RegExp(`^x{8192}… \\[cut ${MB - 8192} chars\\]$`), `${id}: the line is cut at 8 KiB with a marker`);
        t.match(cut?.fields, { cut: 'fields over 8192 bytes not sent' }, `${id}: fields over 8 KiB noted, not sent`);
        t.match(await latest(d, id), { state: 'running' }, `${id}: a long line is cut, not refused`);
        t.equal((await d.cli('kill', id)).code, 0);
      } else {
        await d.waitFor(`${id} to be stopped`, async () => (await latest(d, id))?.state === 'crashed', 30_000);
        const s = await latest(d, id);
        t.match(s?.reason, /^message-too-large: \d+ bytes > 1048576$/, `${id}: ${s?.reason}`);
        refused += 1;
      }
      const status = await d.json<DaemonStatus>('status');
      t.equal(status.state, 'ready', `status answers after ${id}`);
      t.same(status.channels, { maxMessageBytes: MB, refused }, `refusals counted (${refused})`);
      const growth = peakRssBytes(daemonPid) - before;
      t.ok(growth < 60 * MB, `${id}: daemon peak RSS +${Math.round(growth / MB)} MB (from ${Math.round(before / MB)} MB)`);
    }
  }
  t.match((await d.cli('status')).stdout, /channels: +messages up to \S+; 3 agent\(s\) stopped for a larger one/, 'status shows the cap and the count');
});
