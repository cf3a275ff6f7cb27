/**
 * The sending side of the sd_notify benchmark (sd-notify-bench.ts), run as its own Node process: it first grows its
 * heap until its RSS is daemon-sized (forking copies the parent's page tables, so the size matters), then sends
 * `count` WATCHDOG=1 messages one after the other through the real notifier (runtime/daemon/sd-notify.ts) with
 * the transport it is told to use, and prints one JSON line: wall and CPU time per message, CPU split into this
 * process and its (waited-for) children — the forked systemd-notify runs in a child.
 *
 *   node --import tsx scripts/bench/sd-notify-sender.ts <NOTIFY_SOCKET> <addon|systemd-notify> <count> <rssMb>
 */
import { readFileSync } from 'node:fs';
import { createSdNotifier } from '../../runtime/daemon/sd-notify.ts';
import { loadSdNotifyAddon } from '../../runtime/daemon/sd-notify-addon.ts';

const [socket = '', transport = 'addon', countText = '100', rssText = '110'] = process.argv.slice(2);
const count = Number(countText);

function rssMb(): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]) / 1024;
}

/** utime+stime of this process's waited-for children, in ms (/proc/self/stat fields 16 and 17, in clock ticks). */
function childrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): cutime is field 16, cstime field 17. USER_HZ is 100 on Linux (x86 and arm64).
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / 100;
}

const ballast: number[][] = [];
while (rssMb() < Number(rssText)) ballast.push(Array.from({ length: 128 * 1024 }, (_, i) => i + ballast.length));

const load = loadSdNotifyAddon();
if (transport === 'addon' && !('addon' in load)) throw new Error(`the addon is not built: ${load.error} (npm run build)`);
const notifier = createSdNotifier({ env: { NOTIFY_SOCKET: socket }, addon: transport === 'addon' ? load : { error: 'forced by the benchmark', file: '' } });
if (notifier.transport !== transport) throw new Error(`asked for ${transport}, got ${notifier.transport}`);

for (let i = 0; i < 3; i++) await notifier.notify({ WATCHDOG: '1' }); // warm up: first exec, page cache
// Timed in batches smaller than the kernel's datagram queue (net.unix.max_dgram_qlen, 10 on some machines), with
// an untimed pause after each for the listener to drain it: a real manager reads at once, and the addon sends
// with MSG_DONTWAIT, so a full queue would be EAGAIN rather than a slower send.
const BATCH = 8;
let wallMs = 0;
let selfMs = 0;
let childMs = 0;
for (let sent = 0; sent < count; ) {
  const cpu0 = process.cpuUsage();
  const children0 = childrenCpuMs();
  const t0 = performance.now();
  for (let i = 0; i < BATCH && sent < count; i++, sent++) await notifier.notify({ WATCHDOG: '1' });
  wallMs += performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  selfMs += (cpu.user + cpu.system) / 1000;
  childMs += childrenCpuMs() - children0;
  await new Promise((r) => setTimeout(r, 5));
}
process.stdout.write(`${JSON.stringify({ transport, count, rssMb: rssMb(), ballast: ballast.length, wallMsPer: wallMs / count, cpuMsPer: (selfMs + childMs) / count, selfCpuMsPer: selfMs / count, childCpuMsPer: childMs / count })}\n`);
