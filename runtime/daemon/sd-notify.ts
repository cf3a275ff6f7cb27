/**
 * sd_notify (systemd Type=notify): READY=1 once the master agent is online, WATCHDOG=1 while healthy
 * (sd-watchdog.ts), STOPPING=1 on shutdown. Without NOTIFY_SOCKET (not started by systemd) nothing is sent.
 *
 * Two transports, chosen once:
 *   addon           native/sd-notify (sd-notify-addon.ts): one datagram from this process, no fork. The daemon is
 *                   the sender, so the unit can keep NotifyAccess=main. Preferred: forking systemd-notify from a
 *                   daemon-sized Node costs far more per message (scripts/bench/sd-notify-bench.ts measures it).
 *   systemd-notify  the fallback when the addon cannot be loaded (a source checkout built without a compiler):
 *                   systemd's own sender, forked per message. Since systemd 251 it sends BARRIER=1 and waits until
 *                   the manager has processed the message; --pid names the daemon as the main pid. The sender is
 *                   a child, so systemd only accepts it with NotifyAccess=all.
 * The runner and the addon are injectable so tests can drive both.
 */
import type * as ChildProcess from 'node:child_process';
import { lazyBuiltin } from '../lazy-builtin.ts';
import { ErrorCode, OpenStarryError } from '../errors.ts';
import type { AddonLoad } from './sd-notify-addon.ts';
import { describeErrno, loadSdNotifyAddon } from './sd-notify-addon.ts';
import type { NotifyTransport } from '../control/service-status.ts';

export type NotifyRunner = (file: string, args: readonly string[]) => Promise<void>;
export type { NotifyTransport } from '../control/service-status.ts';

// Only the fallback forks, so node:child_process is loaded only when it is used.
const childProcess = lazyBuiltin<typeof ChildProcess>('node:child_process');

// systemd-notify reads NOTIFY_SOCKET from its own environment, so the child gets the socket this notifier was
// created with (an injected env, not necessarily process.env).
const runExecFile =
  (notifySocket: string): NotifyRunner =>
  (file, args) =>
    new Promise((resolve, reject) => {
      childProcess().execFile(file, [...args], { timeout: 10_000, env: { ...process.env, NOTIFY_SOCKET: notifySocket } }, (err) => (err ? reject(err) : resolve()));
    });

export interface SdNotifier {
  readonly enabled: boolean;
  readonly transport: NotifyTransport;
  /** Why the addon is not the transport (set when the transport is systemd-notify). */
  readonly fallbackReason?: string;
  /** Sends the fields as one message; rejects with ERR_SD_NOTIFY_FAILED (addon) or the runner's error. */
  notify(fields: Record<string, string>): Promise<void>;
}

export interface SdNotifierOptions {
  env?: Readonly<Record<string, string | undefined>>;
  run?: NotifyRunner;
  pid?: number;
  binary?: string;
  /** The addon, or why it is not there; loaded from the package root when omitted (and only when enabled). */
  addon?: AddonLoad;
}

/**
 * sd_notify(3) messages are newline-separated KEY=VALUE lines: a newline inside a value would start a forged
 * field, so it becomes a space.
 */
function lines(fields: Record<string, string>): string[] {
  return Object.entries(fields).map(([k, v]) => `${k}=${v.replace(/[\r\n]+/g, ' ')}`);
}

export function createSdNotifier(options: SdNotifierOptions = {}): SdNotifier {
  const env = options.env ?? process.env;
  const socket = env.NOTIFY_SOCKET;
  if (socket === undefined || socket === '') {
    return { enabled: false, transport: 'off', notify: async () => undefined };
  }
  const load = options.addon ?? loadSdNotifyAddon();
  if ('addon' in load) {
    const { addon } = load;
    return {
      enabled: true,
      transport: 'addon',
      async notify(fields) {
        const errno = addon.send(socket, lines(fields).join('\n'));
        if (errno !== 0) throw new OpenStarryError(ErrorCode.SD_NOTIFY_FAILED, `sd_notify to ${socket}: ${describeErrno(errno)}`, { details: { errno } });
      },
    };
  }
  const run = options.run ?? runExecFile(socket);
  const pid = options.pid ?? process.pid;
  const binary = options.binary ?? 'systemd-notify';
  return {
    enabled: true,
    transport: 'systemd-notify',
    fallbackReason: load.error,
    async notify(fields) {
      await run(binary, [`--pid=${pid}`, ...lines(fields)]);
    },
  };
}
