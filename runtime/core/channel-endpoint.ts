/**
 * One end of the isolate <-> daemon channel: correlates requests with responses, dispatches incoming
 * requests and notes to registered handlers, and reports how many of its own requests are pending (the worker
 * host keeps its port referenced only while something is pending, so an idle agent can end on its own).
 * Used unchanged on both sides. Pure: no node:* imports.
 */
import type { ChannelMessage, IChannelPort } from './channel-messages.ts';
import { isChannelMessage } from './channel-messages.ts';
import { ErrorCode, OpenStarryError, errorFromWire, errorToWire } from './errors.ts';

export type RequestHandler = (params: unknown) => unknown;

/** Return this from a request handler to transfer (not copy) buffers in the reply, e.g. a camera frame. */
export class WithTransfer<T = unknown> {
  constructor(
    readonly value: T,
    readonly transfer: readonly ArrayBuffer[],
  ) {}
}
export type NoteHandler = (params: unknown) => void;

export class ChannelEndpoint {
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

  handle(method: string, handler: RequestHandler): void {
    this.#requestHandlers.set(method, handler);
  }

  onNote(method: string, handler: NoteHandler): void {
    this.#noteHandlers.set(method, handler);
  }

  notify(method: string, params?: unknown, transfer?: readonly ArrayBuffer[]): void {
    if (this.#closed) return;
    this.#port.post(params === undefined ? { t: 'note', method } : { t: 'note', method, params }, transfer);
  }

  request<T = unknown>(method: string, params?: unknown, transfer?: readonly ArrayBuffer[]): Promise<T> {
    if (this.#closed) return Promise.reject(new OpenStarryError(ErrorCode.CHANNEL_CLOSED, `channel closed; ${method} not sent`));
    if (this.#pending.size >= this.#maxInFlight) {
      return new Promise<void>((resolve) => {
        this.#waiting.push(resolve);
        this.#onPendingChange?.(this.pending);
      }).then(() => this.request<T>(method, params, transfer));
    }
    const id = this.#nextId++;
    const promise = new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
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
