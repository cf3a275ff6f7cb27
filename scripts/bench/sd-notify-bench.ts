/**
 * sd_notify cost (issue 11: "sending a notification must not fork a process every few seconds on a Pi"): the
 * native addon (one datagram from this process) beside forking systemd-notify, each sending WATCHDOG=1 from a
 * daemon-sized Node process (sd-notify-sender.ts grows its RSS to BENCH_SD_NOTIFY_RSS_MB, default 110: the daemon's
 * idle RSS with its master agent here) to a real Unix datagram listener (scripts/testing/notify-listener.ts).
 * Wall and CPU time per message (CPU includes the forked child's), and what a watchdog ping every 15 s
 * (WatchdogSec=30) costs in CPU share. This measurement sets how often the fallback may ping (sd-watchdog.ts).
 *
 *   npm run build && node --import tsx scripts/bench/sd-notify-bench.ts
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startNotifyListener } from '../testing/notify-listener.ts';
import { ROOT, fmt, print, rows } from './bench-table.ts';

interface SenderResult {
  transport: string;
  count: number;
  rssMb: number;
  wallMsPer: number;
  cpuMsPer: number;
  selfCpuMsPer: number;
  childCpuMsPer: number;
}

const SENDER = path.join(ROOT, 'scripts', 'bench', 'sd-notify-sender.ts');

function runSender(socket: string, transport: 'addon' | 'systemd-notify', count: number, rssMb: number): Promise<SenderResult> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', SENDER, socket, transport, String(count), String(rssMb)], { cwd: ROOT, timeout: 300_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${transport} sender failed: ${err.message}\n${stderr}`));
      else resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as SenderResult);
    });
  });
}

export async function benchSdNotify(work: string): Promise<void> {
  const rssMb = Number(process.env.BENCH_SD_NOTIFY_RSS_MB ?? 110);
  const listener = await startNotifyListener(path.join(work, 'notify.sock'));
  try {
    const addon = await runSender(listener.address, 'addon', Number(process.env.BENCH_SD_NOTIFY_SENDS ?? 400), rssMb);
    const fork = await runSender(listener.address, 'systemd-notify', Number(process.env.BENCH_SD_NOTIFY_FORKS ?? 50), rssMb);
    const ms = (n: number) => (n < 1 ? `${(n * 1000).toFixed(1)} µs` : fmt(n, 'ms'));
    const sender = `sender RSS ${Math.round(fork.rssMb)} MB`;
    rows.push({ metric: `sd_notify wall/message, addon vs fork (${sender})`, ours: ms(addon.wallMsPer), base: ms(fork.wallMsPer), ratio: `${(fork.wallMsPer / addon.wallMsPer).toFixed(0)}x less`, target: '-', met: '-' });
    rows.push({ metric: 'sd_notify CPU/message, addon vs fork (+ child)', ours: ms(addon.cpuMsPer), base: `${ms(fork.cpuMsPer)} (${ms(fork.childCpuMsPer)} child)`, ratio: `${(fork.cpuMsPer / Math.max(addon.cpuMsPer, 0.001)).toFixed(0)}x less`, target: '< 1 ms', met: addon.cpuMsPer < 1 ? 'yes' : 'NO' });
    const share = (cpuMs: number) => `${((cpuMs / 15_000) * 100).toFixed(4)} %`;
    rows.push({ metric: 'watchdog ping every 15 s, CPU share of a core', ours: share(addon.cpuMsPer), base: share(fork.cpuMsPer), ratio: `${(fork.cpuMsPer / Math.max(addon.cpuMsPer, 0.001)).toFixed(0)}x less`, target: '-', met: '-' });
  } finally {
    await listener.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const work = await mkdtemp(path.join(tmpdir(), 'os-bench-'));
  try {
    await benchSdNotify(work);
    print();
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
