/**
 * The global dashboard's JSON API (spec 000 §3.2 "Global Dashboard", README "Configuration", `dashboard`), an infrastructure
 * plugin (spec 002 phase 1.2) started in the configured order and stopped in reverse:
 *   GET /api/state      the global view (state projection)
 *   GET /api/agents     IAgentStatus[]
 *   GET /api/telemetry  resource use per agent and totals
 *   GET /api/rules      orchestrator stats (rules, events seen, fired, dropped by reason, last error)
 * JSON only; anything else is a JSON 404 (405 for methods other than GET/HEAD); 503 while a source has nothing
 * yet. Read-only by design: nothing here changes the daemon, so it needs no authentication on the default
 * loopback address — binding it elsewhere exposes agent snapshots to that network (say so in the config docs).
 * The HTML page comes later.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ErrorCode, OpenStarryError } from '../core/errors.ts';
import type { InfrastructurePlugin } from '../infrastructure-plugin.ts';
import type { Logger } from '../logging/logger.ts';
import { silentLogger } from '../logging/logger.ts';
import type { MetricsRoute } from './metrics-route.ts';
import type { MetricsSource } from './metrics-snapshot.ts';
import { splitHostPort } from '../validation.ts';

export interface DashboardSources {
  /** undefined = not available yet (503). */
  state(): unknown;
  agents(): unknown;
  telemetry(): unknown;
  rules(): unknown;
}

export interface DashboardServerOptions {
  /** `host:port` or `[v6]:port`; port 0 picks a free one (tests). */
  listen: string;
  sources: DashboardSources;
  log?: Logger;
  /** GET /metrics (Prometheus text format, metrics-route.ts); absent: no such route. */
  metrics?: MetricsSource;
  /** The bearer token /metrics asks for when `listen` is not a loopback address. */
  token?: string;
}

export interface DashboardServer extends InfrastructurePlugin {
  /** Where it listens once started. */
  address(): { host: string; port: number } | undefined;
}

/**
 * Sources that answer 503 until bound: the dashboard is an infrastructure plugin (boot phase 1) and starts before
 * the orchestrator and the projection exist (after the master agent); the daemon binds them when they do.
 */
export function deferredDashboardSources(): DashboardSources & { bind(sources: DashboardSources | undefined): void } {
  let bound: DashboardSources | undefined;
  return {
    bind: (sources) => void (bound = sources),
    state: () => bound?.state(),
    agents: () => bound?.agents(),
    telemetry: () => bound?.telemetry(),
    rules: () => bound?.rules(),
  };
}

/** Parses `127.0.0.1:8080` / `[::1]:8080`; throws a plain Error naming what is wrong. */
export function parseListen(listen: string): { host: string; port: number } {
  const hp = splitHostPort(listen.trim());
  if (!hp?.host) throw new Error(`"${listen}" is not a listen address (host:port, e.g. 127.0.0.1:8080, or [::1]:8080)`);
  return { host: hp.host, port: hp.port };
}

const ROUTES: Record<string, keyof DashboardSources> = {
  '/api/state': 'state',
  '/api/agents': 'agents',
  '/api/telemetry': 'telemetry',
  '/api/rules': 'rules',
};

export function createDashboardServer(options: DashboardServerOptions): DashboardServer {
  const target = parseListen(options.listen);
  const log = options.log ?? silentLogger;
  let server: http.Server | undefined;
  let closing: Promise<void> | undefined;
  let metricsRoute: Promise<MetricsRoute> | undefined;

  const send = (res: http.ServerResponse, head: boolean, status: number, body: unknown, extra: Record<string, string> = {}) => {
    const text = JSON.stringify(body ?? null);
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(Buffer.byteLength(text)),
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      ...extra,
    });
    res.end(head ? undefined : text);
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const head = req.method === 'HEAD';
    if (req.method !== 'GET' && !head) return send(res, false, 405, { error: 'method not allowed', allow: 'GET, HEAD' }, { allow: 'GET, HEAD' });
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path === '/metrics' && options.metrics) {
      const source = options.metrics;
      metricsRoute ??= import('./metrics-route.ts').then((m) => m.createMetricsRoute({ source, log, loopback: m.isLoopbackHost(target.host), token: () => options.token }));
      return (await metricsRoute).serve(req, res, head);
    }
    const route = Object.hasOwn(ROUTES, path) ? ROUTES[path] : undefined;
    if (route === undefined) return send(res, head, 404, { error: 'not found', paths: Object.keys(ROUTES) });
    try {
      const body: unknown = await options.sources[route]();
      if (body === undefined) return send(res, head, 503, { error: `${route} not available yet` });
      return send(res, head, 200, body);
    } catch (err) {
      log.warn(`dashboard ${path} failed: ${(err as Error).message}`);
      return send(res, head, 500, { error: (err as Error).message });
    }
  };

  return {
    name: 'dashboard',
    async start() {
      if (server) return;
      const s = http.createServer((req, res) => void handle(req, res).catch(() => res.destroy()));
      s.requestTimeout = 10_000;
      s.headersTimeout = 5_000;
      s.keepAliveTimeout = 5_000;
      s.maxConnections = 64;
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(target.port, target.host, () => {
          s.off('error', reject);
          resolve();
        });
      }).catch((err: unknown) => {
        throw new OpenStarryError(ErrorCode.INFRA_FAILED, `dashboard cannot listen on ${options.listen}: ${(err as Error).message}`, { cause: err });
      });
      s.on('error', (err) => log.error(`dashboard server error: ${err.message}`));
      server = s;
      const a = s.address() as AddressInfo;
      log.info(`dashboard on http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}/api/state`);
    },
    stop() {
      const s = server;
      if (!s) return Promise.resolve();
      closing ??= new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections();
      });
      return closing;
    },
    address() {
      const a = server?.address();
      if (!a || typeof a === 'string') return undefined;
      return { host: a.address, port: a.port };
    },
  };
}
