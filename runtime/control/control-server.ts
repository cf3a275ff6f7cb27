/**
 * The control plane's server (docs/ARCHITECTURE.md "Control plane"): JSON-RPC 2.0 over a Unix socket, one JSON object per line.
 * Whatever a client sends, the daemon must not crash and other clients must not notice: every connection
 * (control-connection.ts) has its own framer (bounded by MAX_REQUEST_BYTES), its own error handler and its own bounded output queue, and
 * the connection guard (connection-guard.ts) keeps idle, slow and surplus connections from holding the socket shut.
 */
import { chmod, mkdir, stat, unlink } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { ErrorCode, OpenStarryError } from '../errors.ts';
import type { GuardOptions } from './connection-guard.ts';
import { ConnectionGuard } from './connection-guard.ts';
import { groupName } from './socket-group.ts';
import { clearStaleSocket, errnoCode } from './stale-socket.ts';
import type { ControlSocketStats, DaemonApi } from './protocol.ts';
import type { LogFn } from './rpc-dispatch.ts';
import { refusal, RpcDispatcher } from './rpc-dispatch.ts';
import { Connection } from './control-connection.ts';
import { unrefTimer } from '../clock.ts';

export interface ControlServerOptions {
  socketPath: string;
  api: DaemonApi;
  log?: LogFn;
  /** Connection cap, idle and request timeouts, clock (connection-guard.ts has the defaults). */
  guard?: GuardOptions;
}


/** Re-exported: tests and callers import it from here. */
export { MAX_PENDING_NOTIFICATIONS } from './control-connection.ts';
/** docs/ARCHITECTURE.md "Paths and environment": the socket is group-accessible (the packaged unit's `openstarry` group), not world-accessible. */
const SOCKET_MODE = 0o660;

/**
 * "mode 0660, group openstarry": who may use the socket, logged at start so a refused `openstarry` can be matched
 * against it (under the unit the group is the daemon's, `Group=openstarry`; the directory is RuntimeDirectory 0750).
 */
async function describeAccess(socketPath: string): Promise<string> {
  try {
    const [file, dir] = await Promise.all([stat(socketPath), stat(path.dirname(socketPath))]);
    const mode = (m: number) => `0${(m & 0o777).toString(8)}`;
    return `mode ${mode(file.mode)}, group ${await groupName(file.gid)}; directory mode ${mode(dir.mode)}, group ${await groupName(dir.gid)}`;
  } catch (err) {
    return `mode unknown: ${(err as Error).message}`;
  }
}

export class ControlServer {
  readonly #server: net.Server;
  readonly #socketPath: string;
  readonly #connections = new Set<Connection>();
  readonly #guard: ConnectionGuard;
  #closing: Promise<void> | undefined;

  private constructor(server: net.Server, socketPath: string, guard: ConnectionGuard) {
    this.#server = server;
    this.#socketPath = socketPath;
    this.#guard = guard;
  }

  /** Removes a stale socket, listens, and makes the socket mode 0660. Throws ERR_BOOT_FAILED when it cannot. */
  static async listen(options: ControlServerOptions): Promise<ControlServer> {
    const log: LogFn = options.log ?? (() => undefined);
    const socketPath = path.resolve(options.socketPath);
    try {
      await mkdir(path.dirname(socketPath), { recursive: true });
    } catch (err) {
      throw new OpenStarryError(ErrorCode.BOOT_FAILED, `cannot create ${path.dirname(socketPath)}: ${(err as Error).message}`, { cause: err });
    }
    await clearStaleSocket(socketPath, options.guard?.clock);
    const dispatcher = new RpcDispatcher(options.api, log);
    // allowHalfOpen: a client that shuts down its write side after sending still gets its answers.
    const server = net.createServer({ allowHalfOpen: true });
    const guard = new ConnectionGuard(options.guard ?? {}, (message) => log('warn', message));
    const self = new ControlServer(server, socketPath, guard);
    server.on('connection', (socket) => {
      if (self.#closing !== undefined) {
        socket.destroy();
        return;
      }
      // A local client opening sockets in a loop must not exhaust the daemon's file descriptors; at the cap the
      // longest idle connection makes room (connection-guard.ts).
      if (!guard.admit(self.#connections)) {
        refuseBusy(socket, guard, `${JSON.stringify(refusal(null, ErrorCode.CONTROL_BUSY, `openstarryd refused this connection: all ${guard.maxConnections} control connections are busy; retry`))}\n`);
        return;
      }
      self.#connections.add(new Connection(socket, dispatcher, options.api, log, guard, self.#connections, (c) => self.#connections.delete(c)));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    }).catch((err: unknown) => {
      const reason = errnoCode(err) === 'EADDRINUSE' ? `another openstarryd is listening on ${socketPath}` : `cannot listen on ${socketPath}: ${(err as Error).message}`;
      throw new OpenStarryError(ErrorCode.BOOT_FAILED, reason, { cause: err });
    });
    server.on('error', (err) => log('error', `server error: ${err.message}`));
    try {
      await chmod(socketPath, SOCKET_MODE);
    } catch (err) {
      await self.close();
      throw new OpenStarryError(ErrorCode.BOOT_FAILED, `cannot chmod ${socketPath}: ${(err as Error).message}`, { cause: err });
    }
    log('info', `listening on ${socketPath} (${await describeAccess(socketPath)})`);
    return self;
  }

  get socketPath(): string {
    return this.#socketPath;
  }

  /** Open client connections (tests use it to see that a cut-off client is gone). */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /** For `status`: open connections and what the guard closed or refused. */
  stats(): ControlSocketStats {
    return this.#guard.stats(this.#connections.size);
  }

  /** Stops accepting, drops every client (and its log follows) and removes the socket file. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
      for (const conn of [...this.#connections]) conn.destroy();
      await closed;
      await unlink(this.#socketPath).catch(() => undefined);
    })();
    return this.#closing;
  }
}

/** How long a refused connection may stay half-closed so its client reads the refusal (how many: the guard's). */
const REFUSAL_LINGER_MS = 500;

/**
 * Answers a connection the daemon has no room for with the busy refusal and closes it so that the client reads it.
 * Destroying the socket at once would reset it under a request the client already sent (EPIPE / ECONNRESET), and the
 * client would see a closed connection instead of a retryable ERR_CONTROL_BUSY (control-client.ts callOnce retries
 * that, and a request whose write failed, but not a request it sent whose connection then closed unanswered). So:
 * write the refusal and half-close, discard what the client sends, and destroy when it closes its side or after a
 * short linger on the guard's clock. A flood cannot pile these up: beyond the guard's MAX_LINGERING_REFUSALS
 * (connection-guard.ts startLinger) they are destroyed at once, as before.
 */
function refuseBusy(socket: net.Socket, guard: ConnectionGuard, line: string): void {
  socket.on('error', () => undefined);
  if (!guard.startLinger()) {
    socket.end(line);
    socket.destroy();
    return;
  }
  const timer = guard.clock.setTimeout(() => socket.destroy(), REFUSAL_LINGER_MS);
  unrefTimer(timer);
  socket.once('close', () => {
    guard.endLinger();
    guard.clock.clearTimeout(timer);
  });
  socket.on('end', () => socket.destroy());
  socket.resume();
  socket.end(line);
}
