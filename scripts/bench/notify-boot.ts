/**
 * Boot to READY=1 as systemd sees it (sd_notify(3), README "systemd"): spawn a program with NOTIFY_SOCKET pointing
 * at a real Unix datagram listener (scripts/testing/notify-listener.ts) and time from the spawn to the READY=1
 * datagram sent by that very process (the listener reads the sender's pid from SCM_CREDENTIALS).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { SD_NOTIFY_ADDON } from '../../runtime/daemon/sd-notify-addon.ts';
import type { NotifyListener } from '../testing/notify-listener.ts';
import { ROOT } from './bench-table.ts';

export const BARE_BASELINE = path.join(ROOT, 'scripts', 'bench', 'bare-baseline.mjs');

export interface Booted { child: ChildProcess; ms: number }

/** Spawns `cmd args` and resolves when its READY=1 reaches `listener`; its output is kept for the error. */
export async function bootToReady(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv, listener: NotifyListener, timeoutMs = 20_000): Promise<Booted> {
  const t0 = performance.now();
  const child = spawn(cmd, args, { env: { ...env, NOTIFY_SOCKET: listener.address }, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-4000)));
  child.stderr?.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-4000)));
  const exited = new Promise<never>((_, reject) => child.once('exit', (code, signal) => reject(new Error(`${path.basename(cmd)} ${args.join(' ')} exited (${code ?? signal}) before READY=1; output:\n${output}`))));
  try {
    await Promise.race([listener.waitFor(`READY=1 from pid ${child.pid}`, (m) => m.pid === child.pid && m.fields.READY === '1', timeoutMs), exited]);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  // `exited` rejects when the child is stopped later: the race above is its handler, so that is not unhandled.
  return { child, ms: performance.now() - t0 };
}

/** What follows `node` to run bare-baseline.mjs with its socket in `work` and the sd_notify addon of the package at `root`. */
export function bareBaselineArgs(work: string, round: number, root = ROOT): string[] {
  return [BARE_BASELINE, '--listen', path.join(work, `bare-${round}.sock`), '--addon', path.join(root, SD_NOTIFY_ADDON)];
}
