/**
 * `GET /metrics` (issue 15, README "Prometheus"): the snapshot rendered in the Prometheus text
 * format. Loaded by dashboard-server.ts at the first scrape, and prom-client (metrics.ts) only once a scrape is
 * authorised, so a daemon nobody scrapes holds neither (issue 12).
 *
 * The token rule (README "Security: the local threat model", issue 15 "same token rule for a non-loopback
 * listen"): on a loopback listen /metrics is open to local programs, as the JSON views are; on any other address it
 * answers only `Authorization: Bearer <dashboard token>`, and always 401 when no token is configured.
 */
import type http from 'node:http';
import { bearerMatches, isLoopback } from './dashboard-auth.ts';
import type { Logger } from '../logging/logger.ts';
import type { MetricsRenderer } from './metrics.ts';
import type { MetricsSource } from './metrics-snapshot.ts';

/** True when `host` (a listen address) only accepts connections from this machine (dashboard-auth.ts). */
export const isLoopbackHost = isLoopback;

/** Whether the request carries `Authorization: Bearer <token>`; no token configured: never (dashboard-auth.ts). */
export function bearerOk(req: Pick<http.IncomingMessage, 'headers'>, token: string | undefined): boolean {
  return bearerMatches(req.headers.authorization, token);
}

export interface MetricsRouteOptions {
  source: MetricsSource;
  /** The dashboard's bearer token (dashboard.tokenFile), read at each request: the server loads it at start and at each reload. */
  token?: () => string | undefined;
  /** Whether the dashboard listens on a loopback address only (then no token is needed). */
  loopback: boolean;
  log?: Logger;
  /** Process start, for process_start_time_seconds (injected: tests). */
  startTimeSeconds?: number;
}

export interface MetricsRoute {
  /** Answers one GET/HEAD /metrics request. */
  serve(req: http.IncomingMessage, res: http.ServerResponse, head: boolean): Promise<void>;
}

export function createMetricsRoute(o: MetricsRouteOptions): MetricsRoute {
  let renderer: Promise<MetricsRenderer> | undefined;
  const startTimeSeconds = o.startTimeSeconds ?? Math.round(Date.now() / 1000 - process.uptime());
  const text = (res: http.ServerResponse, head: boolean, status: number, body: string, extra: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': String(Buffer.byteLength(body)), 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...extra });
    res.end(head ? undefined : body);
  };
  return {
    async serve(req, res, head) {
      if (!o.loopback && !bearerOk(req, o.token?.())) {
        const why = o.token?.() ? 'send Authorization: Bearer <token> (the dashboard token)' : 'the dashboard listens beyond loopback and has no token configured (dashboard.tokenFile)';
        return text(res, head, 401, `unauthorized: ${why}\n`, { 'www-authenticate': 'Bearer realm="openstarry"' });
      }
      let body: string;
      let r: MetricsRenderer;
      try {
        const snapshot = await o.source();
        if (snapshot === undefined) return text(res, head, 503, 'metrics not available yet (the daemon is booting)\n');
        renderer ??= import('./metrics.ts').then((m) => m.createMetricsRenderer({ startTimeSeconds, rss: () => process.memoryUsage.rss() }));
        renderer.catch(() => (renderer = undefined)); // a failed load is tried again at the next scrape
        r = await renderer;
        body = await r.render(snapshot);
      } catch (err) {
        o.log?.warn(`/metrics failed: ${(err as Error).message}`);
        return text(res, head, 500, `metrics failed: ${(err as Error).message}\n`);
      }
      res.writeHead(200, { 'content-type': r.contentType, 'content-length': String(Buffer.byteLength(body)), 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
      res.end(head ? undefined : body);
    },
  };
}
