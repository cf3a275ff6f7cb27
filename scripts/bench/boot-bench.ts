/**
 * Issue 12's boot row: the daemon bundle (sim board, embedded broker and dashboard on: daemonEnv) from spawn to
 * its READY=1 at a real NOTIFY_SOCKET listener, beside bare-baseline.mjs (one worker thread, its first message,
 * a Unix socket listening, READY=1 through the same sd_notify addon) timed the same way, in turn, after one untimed
 * run of each (the disk cache holds both); medians of rounds('fast').
 */
import path from 'node:path';
import { startNotifyListener } from '../testing/notify-listener.ts';
import { hasTool } from '../testing/system-deps.ts';
import { DAEMON, daemonEnv, measuredRow, rows, skippedRow } from './bench-table.ts';
import { median, rounds, stop } from './measure.ts';
import { bareBaselineArgs, bootToReady } from './notify-boot.ts';

const METRIC = 'boot to READY=1 (NOTIFY_SOCKET listener)';

export async function benchBoot(work: string): Promise<void> {
  if (!hasTool('python3')) {
    rows.push(skippedRow(METRIC, 'python3 is not installed (apt-get install python3): it is the NOTIFY_SOCKET listener', '<= 2.5x'));
    return;
  }
  const n = rounds('fast');
  const listener = await startNotifyListener(path.join(work, 'boot-notify.sock'));
  try {
    const ours: number[] = [];
    const base: number[] = [];
    for (let i = -1; i < n; i++) {
      const b = await bootToReady(process.execPath, bareBaselineArgs(work, i + 1), process.env, listener);
      await stop(b.child);
      const d = await bootToReady(process.execPath, [DAEMON], await daemonEnv(path.join(work, `boot-${i + 1}`)), listener);
      await stop(d.child);
      if (i < 0) continue; // the untimed first round
      base.push(b.ms);
      ours.push(d.ms);
    }
    rows.push(measuredRow({ metric: `${METRIC}, median of ${n}`, value: median(ours), unit: 'ms', baseline: median(base), target: { on: 'ratio', atMost: 2.5 } }));
  } finally {
    await listener.close();
  }
}
