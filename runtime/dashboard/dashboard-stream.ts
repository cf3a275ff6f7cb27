/**
 * `GET /api/stream`: the page's live feed as Server-Sent Events (HTML Living Standard §9.2 "Server-sent events"),
 * so the page never polls (issue 15). Bounded like every way into the daemon (README "Security: the local threat model"):
 *   - at most `maxClients` streams at once; one more is answered 503 (counted as refused);
 *   - a client that does not read (its socket buffer over `maxBufferedBytes`) is dropped, never buffered without
 *     bound (counted as dropped; its EventSource reconnects on its own and gets a fresh snapshot);
 *   - a comment line every `heartbeatMs`, so proxies and NAT keep an idle stream open;
 *   - `retry:` tells the browser how soon to reconnect, which is how the page comes back after a daemon restart.
 */
import type http from 'node:http';
import type { Clock } from '../clock.ts';
import { every } from '../clock.ts';
import type { Repeating } from '../clock.ts';

export interface SseOptions {
  clock: Clock;
  maxClients?: number;
  maxBufferedBytes?: number;
  heartbeatMs?: number;
  retryMs?: number;
}

export interface SseStats {
  clients: number;
  maxClients: number;
  accepted: number;
  refused: number;
  dropped: number;
  events: number;
}

export class SseHub {
  readonly #o: Required<SseOptions>;
  readonly #clients = new Set<http.ServerResponse>();
  readonly #stats = { accepted: 0, refused: 0, dropped: 0, events: 0 };
  #heartbeat: Repeating | undefined;
  #closed = false;
  /** Told when the first client comes and the last goes, so the feed works only while someone watches. */
  onActive: (active: boolean) => void = () => undefined;

  constructor(options: SseOptions) {
    this.#o = { maxClients: 16, maxBufferedBytes: 256 * 1024, heartbeatMs: 15_000, retryMs: 2000, ...options };
  }

  get size(): number {
    return this.#clients.size;
  }

  /** Takes the response as a stream (true), or refuses it with a 503 (false; nothing to do for a client already gone). */
  accept(req: http.IncomingMessage, res: http.ServerResponse): boolean {
    if (res.destroyed) return false;
    if (this.#closed || this.#clients.size >= this.#o.maxClients) {
      this.#stats.refused += 1;
      const body = JSON.stringify({ error: `too many live streams (at most ${this.#o.maxClients})` });
      res.writeHead(503, { 'content-type': 'application/json; charset=utf-8', 'retry-after': '10', 'cache-control': 'no-store', 'content-length': String(Buffer.byteLength(body)) });
      res.end(body);
      return false;
    }
    req.socket.setNoDelay(true);
    req.socket.setTimeout(0);
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no', connection: 'keep-alive' });
    res.write(`retry: ${this.#o.retryMs}\n\n`);
    this.#clients.add(res);
    this.#stats.accepted += 1;
    const gone = () => {
      if (this.#clients.delete(res) && this.#clients.size === 0) this.#idle();
    };
    res.once('close', gone);
    if (this.#clients.size === 1) {
      this.#heartbeat = every(this.#o.clock, this.#o.heartbeatMs, () => this.#writeAll(': heartbeat\n\n'), { unref: true });
      this.onActive(true);
    }
    return true;
  }

  /** Writes to one accepted client (its first snapshot), under the same bound as a broadcast. */
  send(res: http.ServerResponse, text: string): void {
    if (this.#clients.has(res)) this.#write(res, text);
  }

  /** Sends one event to every client. */
  broadcast(event: string, data: unknown): void {
    if (this.#clients.size === 0) return;
    this.#stats.events += 1;
    this.#writeAll(frame(event, data));
  }

  stats(): SseStats {
    return { clients: this.#clients.size, maxClients: this.#o.maxClients, ...this.#stats };
  }

  /** Ends every stream. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const res of [...this.#clients]) res.destroy();
    this.#clients.clear();
    this.#idle();
  }

  #idle(): void {
    this.#heartbeat?.stop();
    this.#heartbeat = undefined;
    this.onActive(false);
  }

  #writeAll(text: string): void {
    for (const res of [...this.#clients]) this.#write(res, text);
  }

  #write(res: http.ServerResponse, text: string): void {
    // writableLength is what the kernel has not taken yet: a client that stopped reading makes it grow.
    if (res.writableLength > this.#o.maxBufferedBytes) {
      this.#stats.dropped += 1;
      this.#clients.delete(res);
      res.destroy();
      if (this.#clients.size === 0) this.#idle();
      return;
    }
    res.write(text);
  }
}

/** One SSE event: `event:` and one `data:` line (JSON has no raw newlines). */
export function frame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
