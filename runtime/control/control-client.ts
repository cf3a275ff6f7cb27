/**
 * The control plane's client (docs/ARCHITECTURE.md "Control plane"), used by the CLI. Errors come back as the same typed
 * OpenStarryError the daemon threw (docs/ARCHITECTURE.md "Error registry"), so `openstarry` can tell ERR_AGENT_NOT_FOUND from a
 * daemon that is not there (ERR_DAEMON_UNREACHABLE, exit code 3).
 */
import net from 'node:net';
import type { Clock } from '../clock.ts';
import { sleep, systemClock } from '../clock.ts';
import { ErrorCode, OpenStarryError, errorFromWire, isRetryable } from '../errors.ts';
import { LineFramer } from './json-lines.ts';
import type { NotificationParams } from './notifications.ts';
import type { MethodName, MethodResults } from './protocol.ts';
import { MAX_REQUEST_BYTES } from './request-limit.ts';
import { isRecord } from '../validation.ts';
import type { GroupLookupOptions } from './socket-group.ts';
import { guardingGroup, isPermissionError, permissionDeniedMessage } from './socket-group.ts';

export interface ControlClientOptions {
  /** How long to wait for the socket to accept; default 5000 ms. */
  timeoutMs?: number;
  /** Where the group named in a permission error is looked up (tests). */
  groups?: GroupLookupOptions;
  /** The clock the connect timeout and callOnce's retry backoff run on (default: the system clock). */
  clock?: Clock;
}

/** Handlers by notification name, for the notifications a request sends before its response (deploy.progress). */
export type NotificationHandlers = { [N in keyof NotificationParams]?: (params: NotificationParams[N]) => void };

/** Responses can be large (10k log lines); this only stops a broken peer from growing memory forever. */
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;
const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
/** How long callOnce keeps trying while the daemon's control socket is full (issue 13: a flood of connections). */
const DEFAULT_BUSY_RETRY_MS = 10_000;

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

const HINTS: Record<string, string> = {
  ENOENT: 'no socket there (is openstarryd running?)',
  ECONNREFUSED: 'connection refused (a stale socket: is openstarryd running?)',
};

function unreachable(socketPath: string, reason: string, cause?: unknown): OpenStarryError {
  return new OpenStarryError(ErrorCode.DAEMON_UNREACHABLE, `cannot reach openstarryd at ${socketPath}: ${reason}`, {
    cause,
    details: { socket: socketPath },
  });
}

/** EACCES/EPERM: the one line issue 11 asks for, naming the group that would let this user in. */
async function permissionDenied(socketPath: string, cause: unknown, groups?: GroupLookupOptions): Promise<OpenStarryError> {
  const group = await guardingGroup(socketPath, groups);
  return new OpenStarryError(ErrorCode.SOCKET_PERMISSION_DENIED, permissionDeniedMessage(socketPath, group), { cause, details: { socket: socketPath, ...(group !== undefined ? { group } : {}) } });
}

/**
 * Calls whose request line never reached the daemon whole: its write failed (see ControlClient.call). Kept apart
 * from the error's fields so that nothing the daemon sends can mark a call as safe to repeat.
 */
const unsent = new WeakSet<object>();

/**
 * Nothing reached the daemon's dispatcher: a retryable code (ERR_CONTROL_BUSY), a connect refused with a full
 * backlog, or a request whose write failed.
 */
function retryable(err: unknown): boolean {
  if (typeof err === 'object' && err !== null && unsent.has(err)) return true;
  const { code, cause } = err as { code?: unknown; cause?: { code?: unknown } };
  return (typeof code === 'string' && isRetryable(code)) || (code === ErrorCode.DAEMON_UNREACHABLE && cause?.code === 'EAGAIN');
}

export class ControlClient {
  readonly socketPath: string;
  /** Resolves when the connection ends, whoever ended it. */
  readonly closed: Promise<void>;
  readonly #socket: net.Socket;
  readonly #pending = new Map<number, Pending>();
  readonly #handlers = new Map<string, Set<(params: unknown) => void>>();
  #nextId = 1;
  #isClosed = false;
  /** An error the server could not tie to a request (id null), e.g. "request exceeds ..." before it hangs up. */
  #connectionError: OpenStarryError | undefined;
  #resolveClosed: () => void = () => undefined;

  private constructor(socket: net.Socket, socketPath: string) {
    this.#socket = socket;
    this.socketPath = socketPath;
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    const framer = new LineFramer(MAX_RESPONSE_BYTES, (line) => this.#onLine(line), () => {
      this.#connectionError = new OpenStarryError(ErrorCode.INTERNAL, `openstarryd sent a message over ${MAX_RESPONSE_BYTES} bytes`);
      socket.destroy();
    });
    socket.on('data', (chunk: Buffer) => framer.push(chunk));
    // The 'close' that follows does the bookkeeping; an error here only names why.
    socket.on('error', () => undefined);
    socket.on('close', () => this.#onClose());
  }

  /** Throws ERR_DAEMON_UNREACHABLE when nothing answers on `socketPath` within the timeout. */
  static connect(socketPath: string, options: ControlClientOptions = {}): Promise<ControlClient> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const clock = options.clock ?? systemClock;
    return new Promise((resolve, reject) => {
      const socket = net.createConnection(socketPath);
      const onError = (err: Error): void => {
        clock.clearTimeout(timer);
        socket.destroy();
        if (isPermissionError(err)) {
          void permissionDenied(socketPath, err, options.groups).then(reject);
          return;
        }
        const code = (err as { code?: unknown }).code;
        const hint = typeof code === 'string' ? HINTS[code] : undefined;
        reject(unreachable(socketPath, hint === undefined ? err.message : `${String(code)}: ${hint}`, err));
      };
      const timer = clock.setTimeout(() => {
        socket.off('error', onError);
        socket.on('error', () => undefined);
        socket.destroy();
        reject(unreachable(socketPath, `no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('error', onError);
      socket.once('connect', () => {
        clock.clearTimeout(timer);
        socket.off('error', onError);
        resolve(new ControlClient(socket, socketPath));
      });
    });
  }

  /**
   * Connects, calls `method` once, closes. A connection the daemon closed before reading the request (its
   * connection guard: cap reached, see runtime/control/connection-guard.ts) answers ERR_CONTROL_BUSY; nothing was
   * done, so the call is made again on a new connection, with a short backoff, for up to `retryForMs`. So is a
   * connect refused with EAGAIN: the socket's backlog is full (unix(7)), nothing was sent; and a request whose
   * write failed (EPIPE: the guard had closed the connection before the request went out — under a flood of
   * connections a CLI descheduled between its connect and its write is the longest idle one — so the
   * ERR_CONTROL_BUSY line waiting to be read is lost with the socket Node destroys on that error).
   */
  static async callOnce<M extends MethodName>(socketPath: string, method: M, params: unknown[] = [], options: ControlClientOptions & { retryForMs?: number; notifications?: NotificationHandlers } = {}): Promise<MethodResults[M]> {
    const clock = options.clock ?? systemClock;
    const until = clock.now() + (options.retryForMs ?? DEFAULT_BUSY_RETRY_MS);
    for (let delay = 10; ; delay = Math.min(delay * 2, 200)) {
      let client: ControlClient | undefined;
      try {
        client = await ControlClient.connect(socketPath, options);
        for (const [name, handler] of Object.entries(options.notifications ?? {})) client.onNotification(name, handler as (params: unknown) => void);
        return await client.call(method, params);
      } catch (err) {
        if (!retryable(err) || clock.now() + delay > until) throw err;
      } finally {
        client?.close();
      }
      await sleep(clock, delay);
    }
  }

  get isClosed(): boolean {
    return this.#isClosed;
  }

  call<M extends MethodName>(method: M, params: unknown[] = []): Promise<MethodResults[M]> {
    if (this.#isClosed) return Promise.reject(unreachable(this.socketPath, 'the connection is closed'));
    const id = this.#nextId++;
    const text = `${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`;
    // The server would answer with an error and hang up; fail this call alone instead.
    if (Buffer.byteLength(text) > MAX_REQUEST_BYTES) {
      return Promise.reject(new OpenStarryError(ErrorCode.INVALID_REQUEST, `request exceeds ${MAX_REQUEST_BYTES} bytes`));
    }
    return new Promise<MethodResults[M]>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.#socket.write(text, (err) => {
        if (err) this.#failUnsent(id, err);
      });
    });
  }

  /**
   * The request's write failed, so the daemon never read its line to the end — the newline, the last byte written,
   * is what makes it a request (json-lines.ts), and a write is all or an error (a partial write fails its callback
   * too). It was not dispatched: callOnce may send it again. Runs before the socket's 'close' (Node calls a write's
   * callback before destroying the stream for its error).
   */
  #failUnsent(id: number, cause: Error): void {
    const pending = this.#pending.get(id);
    if (pending === undefined) return;
    this.#pending.delete(id);
    const code = (cause as { code?: unknown }).code;
    const err = unreachable(this.socketPath, `the connection closed before the request was sent (${typeof code === 'string' ? code : cause.message}); nothing was done`, cause);
    unsent.add(err);
    pending.reject(err);
  }

  /** Calls `handler` with the params of every notification named `method`; returns an unsubscribe function. */
  onNotification<N extends keyof NotificationParams>(method: N, handler: (params: NotificationParams[N]) => void): () => void;
  onNotification(method: string, handler: (params: unknown) => void): () => void;
  onNotification(method: string, handler: (params: never) => void): () => void {
    const h = handler as (params: unknown) => void;
    let set = this.#handlers.get(method);
    if (set === undefined) this.#handlers.set(method, (set = new Set()));
    set.add(h);
    return () => set.delete(h);
  }

  /** Idempotent; pending calls fail with ERR_DAEMON_UNREACHABLE. */
  close(): void {
    this.#socket.destroy();
    this.#onClose();
  }

  #onLine(line: string): void {
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      return; // Not ours to repair: a line we cannot parse cannot be tied to a call either.
    }
    if (!isRecord(message)) return;
    if (typeof message.method === 'string' && !Object.hasOwn(message, 'id')) {
      for (const handler of this.#handlers.get(message.method) ?? []) handler(message.params);
      return;
    }
    const wireError = isRecord(message.error) ? this.#toError(message.error) : undefined;
    const pending = typeof message.id === 'number' ? this.#pending.get(message.id) : undefined;
    if (pending === undefined) {
      if (message.id === null && wireError !== undefined) this.#connectionError = wireError;
      return;
    }
    this.#pending.delete(message.id as number);
    if (wireError !== undefined) pending.reject(wireError);
    else pending.resolve(message.result);
  }

  #toError(error: Record<string, unknown>): OpenStarryError {
    const data = isRecord(error.data) ? error.data : {};
    const code = typeof data.code === 'string' ? data.code : ErrorCode.INTERNAL;
    const message = typeof error.message === 'string' ? error.message : 'openstarryd returned an error without a message';
    return errorFromWire(data.details === undefined ? { code, message } : { code, message, details: data.details });
  }

  #onClose(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    const err = this.#connectionError ?? unreachable(this.socketPath, 'the connection closed before openstarryd answered');
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
    this.#resolveClosed();
  }
}
