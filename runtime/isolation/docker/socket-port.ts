/**
 * An IChannelPort over a stream socket (the docker driver's per-agent Unix socket), framed by frame-codec.ts.
 * Used on both sides: the daemon gets the port before the container has connected (messages posted meanwhile
 * wait, in order, until `attach`), the container entry attaches at once. A framing error or a closed socket
 * ends the port: `closed` resolves with the reason and nothing more is delivered.
 */
import type { Socket } from 'node:net';
import type { ChannelMessage, IChannelPort } from '../../core/channel-messages.ts';
import { FrameDecoder, FrameError, FrameTooLargeError, encodeFrame } from './frame-codec.ts';

export interface SocketPortOptions {
  maxFrameBytes?: number;
  /** Most messages kept while no socket is attached yet; beyond it posts throw (a daemon must not grow forever). */
  maxQueued?: number;
}

export class SocketPort implements IChannelPort {
  readonly #decoder: FrameDecoder;
  readonly #maxQueued: number;
  readonly #handlers: ((message: unknown) => void)[] = [];
  #early: unknown[] = [];
  #queue: Buffer[][] = [];
  #socket: Socket | undefined;
  #ended = false;
  #tooLarge: number | undefined;
  #resolveClosed!: (reason: string) => void;
  /** Resolves once with why the port ended: socket closed, framing error, or close() called. */
  readonly closed: Promise<string>;

  constructor(options: SocketPortOptions = {}) {
    this.#decoder = new FrameDecoder(options.maxFrameBytes === undefined ? {} : { maxFrameBytes: options.maxFrameBytes });
    this.#maxQueued = options.maxQueued ?? 1024;
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
  }

  get attached(): boolean {
    return this.#socket !== undefined;
  }

  get socket(): Socket | undefined {
    return this.#socket;
  }

  /** The size a refused frame announced, when the port ended because a frame was over maxFrameBytes. */
  get tooLarge(): number | undefined {
    return this.#tooLarge;
  }

  attach(socket: Socket): void {
    if (this.#ended) {
      socket.destroy();
      return;
    }
    if (this.#socket) throw new Error('socket port already attached');
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => this.#receive(chunk));
    socket.on('error', (err) => this.#end(`socket error: ${err.message}`));
    socket.on('close', () => this.#end('socket closed'));
    socket.cork();
    for (const chunks of this.#queue) for (const c of chunks) socket.write(c);
    socket.uncork();
    this.#queue = [];
  }

  post(message: ChannelMessage, _transfer?: readonly ArrayBuffer[]): void {
    // Over a socket every buffer is copied into the stream; there is nothing to transfer.
    if (this.#ended) return;
    const chunks = encodeFrame(message);
    const socket = this.#socket;
    if (!socket) {
      if (this.#queue.length >= this.#maxQueued) throw new Error(`channel socket not connected yet; more than ${this.#maxQueued} messages waiting`);
      this.#queue.push(chunks);
      return;
    }
    if (chunks.length === 1) {
      socket.write(chunks[0] as Buffer);
      return;
    }
    socket.cork();
    for (const c of chunks) socket.write(c);
    socket.uncork();
  }

  onMessage(handler: (message: unknown) => void): void {
    this.#handlers.push(handler);
    // Messages that arrived before anyone listened (a container's first frames) go to the first listener.
    if (this.#handlers.length === 1 && this.#early.length > 0) {
      const early = this.#early;
      this.#early = [];
      for (const m of early) handler(m);
    }
  }

  /** Stops listening for further messages without closing (the container entry hands over after the bootstrap). */
  clearHandlers(): void {
    this.#handlers.length = 0;
  }

  close(): void {
    this.#end('port closed');
    // end() flushes what was written (a final reply) before the FIN.
    this.#socket?.end();
  }

  #receive(chunk: Buffer): void {
    if (this.#ended) return;
    let messages: unknown[];
    try {
      messages = this.#decoder.push(chunk);
    } catch (err) {
      if (err instanceof FrameTooLargeError) this.#tooLarge = err.bytes;
      this.#end(err instanceof FrameError ? `framing error: ${err.message}` : `framing error: ${String(err)}`);
      this.#socket?.destroy();
      return;
    }
    for (const m of messages) {
      if (this.#ended) return;
      if (this.#handlers.length === 0) this.#early.push(m);
      else if (this.#handlers.length === 1) this.#handlers[0]?.(m); // the usual case: the channel endpoint alone
      else for (const h of this.#handlers.slice()) h(m);
    }
  }

  #end(reason: string): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#queue = [];
    this.#resolveClosed(reason);
  }
}
