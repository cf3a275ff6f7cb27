/**
 * One end of the isolate <-> daemon channel: correlates requests with responses, dispatches incoming
 * requests and notes to registered handlers, and reports how many of its own requests are pending (the worker
 * host keeps its port referenced only while something is pending, so an idle agent can end on its own).
 * Used unchanged on both sides. Pure: no node:* imports.
 *
 * Generic over a ChannelSide (what this end sends and receives): the table of methods is channel-methods.ts, whose
 * DaemonChannel and IsolateChannel are the two ends. A side with `trustsPeer: false` (the daemon's) hands its
 * handlers `unknown` params: an isolate is untrusted, so its handlers validate what arrives.
 */
import type { ChannelMessage, IChannelPort } from './channel-messages.ts';
import { isChannelMessage } from './channel-messages.ts';
import { ErrorCode, OpenStarryError, errorFromWire, errorToWire } from './errors.ts';

/** One direction of a channel: each request's params and result, each note's params. */
export interface ChannelDirection {
  requests: Record<string, { params: unknown; result: unknown }>;
  notes: Record<string, unknown>;
}

/** One end of a channel: what it sends, what it receives, and whether it trusts what it receives to be typed. */
export interface ChannelSide {
  sends: ChannelDirection;
  receives: ChannelDirection;
  trustsPeer: boolean;
}

/** An untyped end (any method, unknown params and results): for tests of the endpoint's own mechanics. */
export type AnySide = { sends: ChannelDirection; receives: ChannelDirection; trustsPeer: false };

type Requests<D extends ChannelDirection> = D['requests'];
/** The params, then the buffers to transfer; params may be left out where the table allows undefined. */
export type SendArgs<P> = undefined extends P ? [params?: P, transfer?: readonly ArrayBuffer[]] : [params: P, transfer?: readonly ArrayBuffer[]];
/** What a handler or an answer gets: the declared type from a trusted peer, `unknown` (to be validated) from an untrusted one. */
export type Received<S extends ChannelSide, P> = S['trustsPeer'] extends true ? P : unknown;
/** What a request handler may return: the result, or the result with buffers to transfer, or a promise of either. */
export type HandlerReply<R> = R | WithTransfer<R> | Promise<R | WithTransfer<R>>;

export type RequestHandler = (params: unknown) => unknown;

/** Return this from a request handler to transfer (not copy) buffers in the reply, e.g. a camera frame. */
export class WithTransfer<T = unknown> {
  constructor(
    readonly value: T,
    readonly transfer: readonly ArrayBuffer[],
  ) {}
}
export type NoteHandler = (params: unknown) => void;

export class ChannelEndpoint<S extends ChannelSide> {
  readonly #port: IChannelPort;
  readonly #requestHandlers = new Map<string, RequestHandler>();
  readonly #noteHandlers = new Map<string, NoteHandler>();
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  #nextId = 1;
  #holds = 0;
  readonly #maxInFlight: number;
  #waiting: (() => void)[] = [];
  #closed = false;
  #onPendingChange: ((pending: number) => void) | undefined;
  #onProtocolError: ((reason: string) => void) | undefined;

  /**
   * @param options.maxInFlight requests sent but not answered at most; later ones wait here, in this side's memory.
   *   The isolate side sets it so an agent firing requests in a loop cannot queue them in the daemon.
   */
  constructor(port: IChannelPort, options?: { onPendingChange?: (pending: number) => void; onProtocolError?: (reason: string) => void; maxInFlight?: number }) {
    this.#port = port;
    this.#onPendingChange = options?.onPendingChange;
    this.#onProtocolError = options?.onProtocolError;
    this.#maxInFlight = options?.maxInFlight ?? Number.POSITIVE_INFINITY;
    port.onMessage((message) => this.#receive(message));
  }

  get pending(): number {
    return this.#pending.size + this.#holds + this.#waiting.length;
  }

  /**
   * Counts as pending until the returned function is called (once): a subscription the daemon will feed
   * (a watch, a camera stream, an open serial port) keeps the isolate alive just like a request in flight.
   */
  retain(): () => void {
    this.#holds += 1;
    this.#onPendingChange?.(this.pending);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#holds -= 1;
      this.#onPendingChange?.(this.pending);
    };
  }

  handle<M extends keyof Requests<S['receives']> & string>(
    method: M,
    handler: (params: Received<S, Requests<S['receives']>[M]['params']>) => HandlerReply<Requests<S['receives']>[M]['result']>,
  ): void {
    this.#requestHandlers.set(method, handler as RequestHandler);
  }

  onNote<M extends keyof S['receives']['notes'] & string>(method: M, handler: (params: Received<S, S['receives']['notes'][M]>) => void): void {
    this.#noteHandlers.set(method, handler as NoteHandler);
  }

  notify<M extends keyof S['sends']['notes'] & string>(method: M, ...[params, transfer]: SendArgs<S['sends']['notes'][M]>): void {
    if (this.#closed) return;
    this.#port.post(params === undefined ? { t: 'note', method } : { t: 'note', method, params }, transfer);
  }

  /** The answer is typed like a handler's params: `unknown` from an untrusted peer, which the caller validates. */
  request<M extends keyof Requests<S['sends']> & string>(method: M, ...args: SendArgs<Requests<S['sends']>[M]['params']>): Promise<Received<S, Requests<S['sends']>[M]['result']>> {
    return this.#request(method, args[0], args[1]) as Promise<Received<S, Requests<S['sends']>[M]['result']>>;
  }

  #request(method: string, params: unknown, transfer: readonly ArrayBuffer[] | undefined): Promise<unknown> {
    if (this.#closed) return Promise.reject(new OpenStarryError(ErrorCode.CHANNEL_CLOSED, `channel closed; ${method} not sent`));
    if (this.#pending.size >= this.#maxInFlight) {
      return new Promise<void>((resolve) => {
        this.#waiting.push(resolve);
        this.#onPendingChange?.(this.pending);
      }).then(() => this.#request(method, params, transfer));
    }
    const id = this.#nextId++;
    const promise = new Promise<unknown>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
    });
    this.#onPendingChange?.(this.pending);
    try {
      this.#port.post(params === undefined ? { t: 'req', id, method } : { t: 'req', id, method, params }, transfer);
    } catch (err) {
      // Not sent (e.g. params that cannot be cloned): nothing will answer, so it must not stay pending.
      this.#pending.delete(id);
      this.#onPendingChange?.(this.pending);
      return Promise.reject(err);
    }
    return promise;
  }

  /** Rejects everything pending with ERR_CHANNEL_CLOSED; further sends are dropped. Idempotent. */
  close(reason = 'channel closed'): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const [, p] of this.#pending) p.reject(new OpenStarryError(ErrorCode.CHANNEL_CLOSED, reason));
    this.#pending.clear();
    // Waiting requests re-enter request(), which now rejects them as closed.
    for (const w of this.#waiting.splice(0)) w();
    this.#onPendingChange?.(0);
    this.#port.close();
  }

  #receive(message: unknown): void {
    if (!isChannelMessage(message)) {
      this.#onProtocolError?.('malformed channel message');
      return;
    }
    if (message.t === 'res') {
      const p = this.#pending.get(message.id);
      if (!p) return;
      this.#pending.delete(message.id);
      const next = this.#waiting.shift();
      if (next) next();
      this.#onPendingChange?.(this.pending);
      if (message.ok) p.resolve(message.result);
      else p.reject(errorFromWire(message.error));
      return;
    }
    if (message.t === 'note') {
      const h = this.#noteHandlers.get(message.method);
      if (!h) {
        this.#onProtocolError?.(`no handler for note ${message.method}`);
        return;
      }
      // A handler must not be able to throw into the port's message event (an uncaught exception there would
      // take down the receiving side, e.g. the daemon for a malformed note from an isolate).
      try {
        h(message.params);
      } catch (err) {
        this.#onProtocolError?.(`note ${message.method} handler threw: ${errorToWire(err).message}`);
      }
      return;
    }
    void this.#answer(message);
  }

  async #answer(message: Extract<ChannelMessage, { t: 'req' }>): Promise<void> {
    const handler = this.#requestHandlers.get(message.method);
    let reply: ChannelMessage;
    let transfer: readonly ArrayBuffer[] | undefined;
    if (!handler) {
      reply = { t: 'res', id: message.id, ok: false, error: { code: ErrorCode.METHOD_NOT_FOUND, message: `unknown channel method ${message.method}` } };
    } else {
      try {
        let result = await handler(message.params);
        if (result instanceof WithTransfer) {
          transfer = result.transfer;
          result = result.value;
        }
        reply = result === undefined ? { t: 'res', id: message.id, ok: true } : { t: 'res', id: message.id, ok: true, result };
      } catch (err) {
        reply = { t: 'res', id: message.id, ok: false, error: errorToWire(err) };
      }
    }
    if (this.#closed) return;
    try {
      this.#port.post(reply, transfer);
    } catch (err) {
      // The result (or error details) could not be cloned: answer with that error rather than never answering.
      this.#port.post({ t: 'res', id: message.id, ok: false, error: { code: ErrorCode.INTERNAL, message: `reply to ${message.method} could not be sent: ${errorToWire(err).message}` } });
    }
  }
}
