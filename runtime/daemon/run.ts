/**
 * Runs the daemon in the foreground until SIGTERM/SIGINT (systemd's ExecStart, `openstarry start`, `npm start`).
 * Exit codes: 0 after a clean shutdown (also when the signal arrives mid-boot); 1 when the boot fails (the
 * reason is printed on stderr, one line per problem). A second signal during shutdown is logged and ignored:
 * agents still get their grace period. SIGHUP (`systemctl reload`, the unit's ExecReload) reloads the rules file
 * and the local templates (reload.ts); during boot or shutdown it is logged and ignored — never Node's default for
 * SIGHUP, which is to exit.
 */
import { createLogger } from '../logging/logger.ts';
import { Daemon } from './daemon.ts';
import type { DaemonOptions } from './daemon.ts';

export async function runDaemon(options: DaemonOptions = {}): Promise<number> {
  const daemon = new Daemon(options);
  // Through the logger, so that in the journal these lines carry their priority too (a failed boot is an error).
  const log = options.log ?? createLogger('openstarryd');
  let stopping: Promise<void> | undefined;
  let stopped!: () => void;
  const done = new Promise<void>((resolve) => (stopped = resolve));
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn(`${signal} received again; still stopping agents`);
      return;
    }
    log.info(`${signal} received, shutting down`);
    stopping = daemon.shutdown().then(stopped);
  };
  const onHangup = () => daemon.hangup();
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('SIGHUP', onHangup);
  try {
    await daemon.boot();
    await done;
    return 0;
  } catch (err) {
    if (stopping) {
      await done;
      return 0;
    }
    log.error(`boot failed: ${(err as Error).message}`);
    return 1;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    process.off('SIGHUP', onHangup);
  }
}
