/**
 * sd_notify (systemd Type=notify): tells systemd the daemon is READY once the master agent is online, and
 * STOPPING=1 on shutdown. Node has no AF_UNIX datagram sockets, so the message is sent by systemd's own
 * `systemd-notify` (present wherever systemd is). Since systemd 251, systemd-notify sends BARRIER=1 and waits
 * until the manager has processed the message, so the sender exiting early cannot lose it; the unit sets
 * NotifyAccess=all because the sender is our child, and --pid names the daemon as the main pid.
 * Without NOTIFY_SOCKET (not started by systemd) nothing is sent.
 */
import { execFile } from 'node:child_process';

export type NotifyRunner = (file: string, args: readonly string[]) => Promise<void>;

// systemd-notify reads NOTIFY_SOCKET from its own environment, so the child gets the socket this notifier was
// created with (an injected env, not necessarily process.env).
const runExecFile =
  (notifySocket: string): NotifyRunner =>
  (file, args) =>
    new Promise((resolve, reject) => {
      execFile(file, [...args], { timeout: 10_000, env: { ...process.env, NOTIFY_SOCKET: notifySocket } }, (err) => (err ? reject(err) : resolve()));
    });

export interface SdNotifier {
  readonly enabled: boolean;
  notify(fields: Record<string, string>): Promise<void>;
}

export function createSdNotifier(options: { env?: Readonly<Record<string, string | undefined>>; run?: NotifyRunner; pid?: number; binary?: string } = {}): SdNotifier {
  const env = options.env ?? process.env;
  const socket = env.NOTIFY_SOCKET;
  const run = options.run ?? runExecFile(socket ?? '');
  const pid = options.pid ?? process.pid;
  const binary = options.binary ?? 'systemd-notify';
  return {
    enabled: socket !== undefined && socket !== '',
    async notify(fields) {
      if (socket === undefined || socket === '') return;
      await run(binary, [`--pid=${pid}`, ...Object.entries(fields).map(([k, v]) => `${k}=${v}`)]);
    },
  };
}
