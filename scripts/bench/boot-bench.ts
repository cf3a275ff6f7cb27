/**
 * Issue 12's boot row: the daemon bundle (sim board, embedded broker and dashboard on: daemonEnv) from spawn to
 * its READY=1 at a real NOTIFY_SOCKET listener, beside bare-baseline.mjs (one worker thread, its first message,
 * a Unix socket listening, READY=1 through the same sd_notify addon) timed the same way, in turn, after one untimed
 * run of each (bootInTurn); medians of rounds('fast').
 */
import path from 'node:path';
import { startNotifyListener } from '../testing/notify-listener.ts';
import { hasTool } from '../testing/system-deps.ts';
import { DAEMON, DAEMON_NODE_FLAGS, daemonEnv, measuredRow, rows, skippedRow } from './bench-table.ts';
import { bootInTurn, rounds } from './measure.ts';
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
    const boot = await bootInTurn(
      n,
      async (round) => bootToReady(process.execPath, [...DAEMON_NODE_FLAGS, DAEMON], await daemonEnv(path.join(work, `boot-${round}`)), listener),
      (round) => bootToReady(process.execPath, bareBaselineArgs(work, round), process.env, listener),
    );
    rows.push(measuredRow({ metric: `${METRIC}, median of ${n}`, value: boot.ours, unit: 'ms', baseline: boot.base, target: { on: 'ratio', atMost: 2.5 } }));
  } finally {
    await listener.close();
  }
}
