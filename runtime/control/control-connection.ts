/**
 * One client connection of the control socket (docs/ARCHITECTURE.md "What each folder owns": control-server.ts
 * owns the socket, this file one connection on it): its framer (bounded by MAX_REQUEST_BYTES), its error handler,
 * its bounded output queue and log follows, and the guard's view of it (connection-guard.ts). A client's mistakes
 * end its own connection and nothing else.
 */
import type net from 'node:net';
import { unrefTimer } from '../clock.ts';
import { ErrorCode, OpenStarryError } from '../errors.ts';
import type { ConnectionGuard, Guarded } from './connection-guard.ts';
import { LineFramer } from './json-lines.ts';
import { Notifications } from './notifications.ts';
import type { DaemonApi, LogLine } from './protocol.ts';
import { MAX_REQUEST_BYTES } from './protocol.ts';
import type { LogFn, RequestScope, RpcDispatcher, RpcResponse } from './rpc-dispatch.ts';
import { refusal } from './rpc-dispatch.ts';

/** Notifications held for a slow reader before new ones are dropped (and counted) instead of buffered. */
export const MAX_PENDING_NOTIFICATIONS = 1000;
/** How long a connection cut off for an oversized request may linger half-closed before it is destroyed. */
const OVERSIZE_LINGER_MS = 2000;
/**
 * What a connection cut off for an oversized request is still read for (and discarded) before the socket stops being
 * read. Reading on lets a client that sent a little too much and closed its side be seen to close (and be destroyed
 * at once); reading everything would let a sender stream for the whole linger, and the e2e test's 20 MB line held the
 * daemon's RSS +10-36 MB for tens of seconds (read buffers and a grown young generation) before V8 gave it back.
 */
const OVERSIZE_DISCARD_BYTES = 256 * 1024;
/** One follow subscription; lines that arrive before the follow's response is written wait in `early`. */
interface Follower {
  unsubscribe: () => void;
  active: boolean;
  early: LogLine[];
}

export class Connection implements Guarded {
  readonly #socket: net.Socket;
  readonly #guard: ConnectionGuard;
  readonly #open: ReadonlySet<Guarded>;
  #lastActive: number;
  /** When the unfinished request line now held started arriving. */
  #partialSince: number | undefined;
  #guardTimer: unknown;
  readonly #dispatcher: RpcDispatcher;
  readonly #api: DaemonApi;
  readonly #log: LogFn;
  readonly #onClosed: (conn: Connection) => void;
  readonly #framer: LineFramer;
  readonly #followers = new Set<Follower>();
  #queue: string[] = [];
  #dropped = 0;
  #closed = false;
  /** Requests being handled; a client that half-closes still gets their answers before we end our side. */
  #inFlight = 0;
  #peerEnded = false;
  #lingerTimer: unknown;
  /** Bytes read after the oversized request was refused; past OVERSIZE_DISCARD_BYTES the socket is no longer read. */
  #discarded = 0;
  #readStopped = false;

  constructor(socket: net.Socket, dispatcher: RpcDispatcher, api: DaemonApi, log: LogFn, guard: ConnectionGuard, open: ReadonlySet<Guarded>, onClosed: (conn: Connection) => void) {
    this.#socket = socket;
    this.#guard = guard;
    this.#open = open;
    this.#lastActive = guard.clock.now();
    this.#dispatcher = dispatcher;
    this.#api = api;
    this.#log = log;
    this.#onClosed = onClosed;
    this.#framer = new LineFramer(MAX_REQUEST_BYTES, (line) => this.#onLine(line), () => this.#onOversize());
    // EPIPE / ECONNRESET are a client's business; they end this connection and nothing else.
    socket.on('error', (err) => this.#log('debug', `connection error: ${err.message}`));
    socket.on('close', () => this.destroy());
    socket.on('data', (chunk: Buffer) => {
      if (this.#framer.overflowed) {
        this.#discarded += chunk.length;
        if (this.#discarded > OVERSIZE_DISCARD_BYTES && !this.#readStopped) {
          this.#readStopped = true;
          socket.pause();
        }
        return;
      }
      this.#framer.push(chunk);
      if (this.#framer.pendingBytes === 0) this.#partialSince = undefined;
      else this.#partialSince ??= this.#guard.clock.now();
      this.#rearm();
    });
    socket.on('drain', () => this.#onDrain());
    socket.on('end', () => {
      // EOF looks the same whether the client half-closed or vanished, so its follows end here (a vanished
      // client must not keep a subscription alive); requests it already sent are still answered.
      this.#peerEnded = true;
      this.#unsubscribeAll();
      this.#maybeEnd();
      this.#rearm();
    });
    this.#rearm();
  }

  get evictable(): boolean {
    return !this.#closed && this.#inFlight === 0 && this.#followers.size === 0;
  }

  get following(): boolean {
    return this.#followers.size > 0;
  }

  get lastActive(): number {
    return this.#lastActive;
  }

  closeBy(reason: string): void {
    if (this.#closed) return;
    this.#log('debug', `closing a control connection: ${reason}`);
    // Written before the destroy: a small write goes to the kernel at once, so the client reads why.
    if (this.#writable) this.#socket.write(`${JSON.stringify(refusal(null, ErrorCode.CONTROL_BUSY, `openstarryd closed this connection (${reason}); nothing was done, retry`))}\n`);
    this.destroy();
  }

  /**
   * One timer per connection, for whichever deadline applies now: none while a request is in flight or a follow
   * runs; the request timeout while a line is arriving; else the idle timeout from the last complete request.
   */
  #rearm(): void {
    this.#guard.clock.clearTimeout(this.#guardTimer);
    this.#guardTimer = undefined;
    if (!this.evictable) return;
    const slow = this.#partialSince !== undefined;
    const deadline = slow ? (this.#partialSince as number) + this.#guard.requestTimeoutMs : this.#lastActive + this.#guard.idleTimeoutMs;
    this.#guardTimer = this.#guard.clock.setTimeout(() => {
      this.#guardTimer = undefined;
      if (!this.evictable || this.#guard.clock.now() < deadline) {
        this.#rearm();
        return;
      }
      this.#guard.count(slow ? 'slowClosed' : 'idleClosed');
      this.closeBy(slow ? `a request was still arriving after ${this.#guard.requestTimeoutMs} ms` : `idle for ${this.#guard.idleTimeoutMs} ms`);
    }, Math.max(0, deadline - this.#guard.clock.now()));
    // A pending guard timer must not keep a closing daemon (or a test) alive.
    unrefTimer(this.#guardTimer);
  }

  get #writable(): boolean {
    return !this.#closed && !this.#socket.destroyed && !this.#socket.writableEnded;
  }

  #subscribe(target: string): Follower | undefined {
    if (this.#closed || this.#peerEnded) return undefined;
    if (this.#followers.size === 0 && !this.#guard.mayFollow(this.#open)) {
      throw new OpenStarryError(ErrorCode.CONTROL_BUSY, `${this.#guard.maxFollowing} control connections are following already; the rest are kept for commands`);
    }
    const follower: Follower = { unsubscribe: () => undefined, active: false, early: [] };
    follower.unsubscribe = this.#api.followLogs(target, (line) => {
      if (follower.active) this.#notify(Notifications.LOG_LINE, line);
      else if (follower.early.length < MAX_PENDING_NOTIFICATIONS) follower.early.push(line);
      else this.#dropped += 1;
    });
    this.#followers.add(follower);
    return follower;
  }

  /** Idempotent; unsubscribes every follow so the daemon stops producing lines for a gone client. */
  destroy(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#guard.clock.clearTimeout(this.#lingerTimer);
    this.#guard.clock.clearTimeout(this.#guardTimer);
    this.#unsubscribeAll();
    this.#queue = [];
    this.#socket.destroy();
    this.#onClosed(this);
  }

  #unsubscribeAll(): void {
    for (const f of this.#followers) {
      try {
        f.unsubscribe();
      } catch (err) {
        this.#log('warn', `unsubscribing a log follower failed: ${(err as Error).message}`);
      }
    }
    this.#followers.clear();
  }

  /** `echo '{...}' | socat - UNIX:sock` half-closes after the request: answer it first, then end. */
  #maybeEnd(): void {
    // Not while lines wait in the queue (a response behind its notifications): #onDrain ends it once they are written.
    if (this.#peerEnded && this.#inFlight === 0 && this.#followers.size === 0 && this.#queue.length === 0 && this.#writable) this.#socket.end();
  }

  #onLine(line: string): void {
    this.#inFlight += 1;
    this.#lastActive = this.#guard.clock.now();
    // Per request, so a follow's lines start after its own response (its backlog), whatever else is in flight.
    const started: Follower[] = [];
    const scope: RequestScope = {
      followLogs: (target) => {
        const follower = this.#subscribe(target);
        if (follower !== undefined) started.push(follower);
      },
      notify: (method, params) => this.#notify(method, params),
    };
    this.#dispatcher
      .dispatch(line, scope)
      .then((response) => {
        if (response !== undefined) this.#respond(response);
        for (const f of started) this.#activate(f);
      })
      .catch((err: unknown) => this.#log('error', `dispatch failed: ${(err as Error).message}`))
      .finally(() => {
        this.#inFlight -= 1;
        this.#lastActive = this.#guard.clock.now();
        this.#maybeEnd();
        this.#rearm();
      });
  }

  #respond(response: RpcResponse): void {
    let text: string;
    try {
      text = `${JSON.stringify(response)}\n`;
    } catch (err) {
      // A result that cannot be serialised (a BigInt, a cycle) is a daemon bug; the client still gets an answer.
      this.#log('error', `cannot serialise a response: ${(err as Error).message}`);
      text = `${JSON.stringify(refusal(response.id, ErrorCode.INTERNAL, 'internal error: result is not serialisable'))}\n`;
    }
    if (!this.#writable) return;
    // Behind the notifications still queued, never ahead: a deployment's progress comes before its outcome. Not
    // dropped at the cap: the pause below stops new requests, so responses queued here stay few.
    if (this.#queue.length > 0) {
      this.#queue.push(text);
      this.#socket.pause();
      return;
    }
    // A client that does not read its responses stops being read until it does: bounded memory per client.
    if (!this.#socket.write(text)) this.#socket.pause();
  }

  #activate(follower: Follower): void {
    if (!this.#followers.has(follower)) return;
    follower.active = true;
    for (const line of follower.early) this.#notify(Notifications.LOG_LINE, line);
    follower.early = [];
  }

  #notify(method: string, params: unknown): void {
    if (!this.#writable) return;
    let text: string;
    try {
      text = `${JSON.stringify({ jsonrpc: '2.0', method, params })}\n`;
    } catch {
      // Lines are sanitised when they enter the daemon; this only keeps a future slip from crashing the caller.
      this.#dropped += 1;
      return;
    }
    if (this.#queue.length > 0 || this.#socket.writableNeedDrain) {
      if (this.#queue.length < MAX_PENDING_NOTIFICATIONS) this.#queue.push(text);
      else this.#dropped += 1;
      return;
    }
    this.#socket.write(text);
  }

  #onDrain(): void {
    while (this.#queue.length > 0 && this.#writable && !this.#socket.writableNeedDrain) {
      this.#socket.write(this.#queue.shift() as string);
    }
    if (this.#queue.length === 0 && this.#dropped > 0 && this.#writable) {
      const dropped = this.#dropped;
      this.#dropped = 0;
      this.#socket.write(`${JSON.stringify({ jsonrpc: '2.0', method: Notifications.LOGS_DROPPED, params: { dropped } })}\n`);
    }
    if (this.#socket.isPaused() && !this.#socket.writableNeedDrain && !this.#readStopped) this.#socket.resume();
    if (this.#queue.length === 0) this.#maybeEnd();
  }

  #onOversize(): void {
    this.#log('warn', `a client sent a request over ${MAX_REQUEST_BYTES} bytes; closing its connection`);
    this.#respond(refusal(null, ErrorCode.INVALID_REQUEST, `request exceeds ${MAX_REQUEST_BYTES} bytes`));
    // Half-close so the client can still read the error; what it keeps sending is discarded, up to
    // OVERSIZE_DISCARD_BYTES, then no longer read (it gets ECONNRESET when the linger ends, the refusal already read).
    this.#socket.end();
    this.#lingerTimer = this.#guard.clock.setTimeout(() => this.destroy(), OVERSIZE_LINGER_MS);
    unrefTimer(this.#lingerTimer);
  }
}
