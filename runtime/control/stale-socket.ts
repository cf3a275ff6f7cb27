/**
 * Socket-file hygiene before the control server listens: a file left behind by a daemon that died (SIGKILL,
 * power loss) is removed; a socket something still answers on means another daemon owns the path.
 */
import { lstat, unlink } from 'node:fs/promises';
import net from 'node:net';
import type { Clock } from '../clock.ts';
import { systemClock } from '../clock.ts';
import { ErrorCode, OpenStarryError } from '../errors.ts';

const PROBE_TIMEOUT_MS = 1000;

export function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Connects to an existing socket file: 'live' if something accepts, 'stale' if nothing is bound to it. */
function probeSocket(socketPath: string, clock: Clock): Promise<'live' | 'stale' | 'timeout' | Error> {
  return new Promise((resolve) => {
    const probe = net.createConnection(socketPath);
    const timer = clock.setTimeout(() => {
      probe.destroy();
      resolve('timeout');
    }, PROBE_TIMEOUT_MS);
    probe.once('connect', () => {
      clock.clearTimeout(timer);
      probe.destroy();
      resolve('live');
    });
    probe.once('error', (err) => {
      clock.clearTimeout(timer);
      probe.destroy();
      const code = errnoCode(err);
      resolve(code === 'ECONNREFUSED' || code === 'ENOENT' ? 'stale' : err);
    });
  });
}

/**
 * A socket left behind by a daemon that died is removed; a live one means another daemon owns the path. The probe's
 * timeout runs on `clock`.
 */
export async function clearStaleSocket(socketPath: string, clock: Clock = systemClock): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = (await lstat(socketPath)).isSocket();
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return;
    throw new OpenStarryError(ErrorCode.BOOT_FAILED, `cannot inspect ${socketPath}: ${(err as Error).message}`, { cause: err });
  }
  // Never unlink a regular file someone pointed --socket at by mistake.
  if (!isSocket) throw new OpenStarryError(ErrorCode.BOOT_FAILED, `${socketPath} exists and is not a socket; refusing to replace it`);
  const probe = await probeSocket(socketPath, clock);
  if (probe === 'live') throw new OpenStarryError(ErrorCode.BOOT_FAILED, `another openstarryd is listening on ${socketPath}`);
  if (probe === 'timeout') throw new OpenStarryError(ErrorCode.BOOT_FAILED, `${socketPath} did not answer within ${PROBE_TIMEOUT_MS} ms; refusing to replace it`);
  if (probe instanceof Error) {
    throw new OpenStarryError(ErrorCode.BOOT_FAILED, `cannot probe ${socketPath}: ${probe.message}`, { cause: probe });
  }
  await unlink(socketPath).catch((err: unknown) => {
    if (errnoCode(err) !== 'ENOENT') throw new OpenStarryError(ErrorCode.BOOT_FAILED, `cannot remove stale socket ${socketPath}: ${(err as Error).message}`, { cause: err });
  });
}
