/**
 * The global dashboard (spec 000 §3.2 "Global Dashboard", README "Dashboard" and "Configuration", `dashboard`), an
 * infrastructure plugin (spec 002 phase 1.2) started in the configured order and stopped in reverse:
 *   GET /               the page (index.html, app.js, app.css from dist/dashboard/; dashboard-assets.ts)
 *   GET /api/stream     the page's live feed, Server-Sent Events (dashboard-stream.ts, dashboard-feed.ts)
 *   GET /api/state      the global view (state projection)
 *   GET /api/agents     IAgentStatus[]
 *   GET /api/telemetry  resource use per agent and totals
 *   GET /api/rules      orchestrator stats (rules, events seen, fired, dropped by reason, last error)
 *   POST/DELETE         spawn, kill, switch an actuator: bearer token only (dashboard-actions.ts)
 * Reads are JSON; anything else is a JSON 404 (405 for other methods); 503 while a source has nothing yet. Reads
 * need no token (an EventSource cannot send one); a listen address other than loopback refuses to start without a
 * token, since it exposes agent snapshots to that network. Every answer carries the Content-Security-Policy.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import type { Clock } from '../clock.ts';
import { systemClock } from '../clock.ts';
import { ErrorCode, OpenStarryError } from '../core/errors.ts';
import type { InfrastructurePlugin } from '../infrastructure-plugin.ts';
import type { Logger } from '../logging/logger.ts';
import { silentLogger } from '../logging/logger.ts';
import type { MetricsRoute } from './metrics-route.ts';
import type { MetricsSource } from './metrics-snapshot.ts';
import { splitHostPort } from '../validation.ts';
import type { ActionCounters } from './dashboard-actions.ts';
import { isLoopback, loadToken } from './dashboard-auth.ts';
import type { DashboardDaemon, DashboardFeed } from './dashboard-feed.ts';
import type { SseHub, SseOptions, SseStats } from './dashboard-stream.ts';

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
  /** The page's reads and actions; without it only the JSON routes are served. */
  daemon?: DashboardDaemon;
  /** `dashboard.tokenFile`: read at start and at each reload (reloadToken); without one the dashboard is read-only (loopback only). */
  tokenFile?: string;
  /** Where the page's files are (dist/dashboard/). */
  assetsDir?: string;
  clock?: Clock;
  /** GET /metrics (Prometheus text format, metrics-route.ts); absent: no such route. */
  metrics?: MetricsSource;
  stream?: Omit<SseOptions, 'clock'>;
  /** How often an open page gets a fresh snapshot (default 2 s). */
  pushMs?: number;
}

export interface DashboardStats {
  url: string;
  readOnly: boolean;
  stream: SseStats;
  actions: ActionCounters;
  /** The sensor sampler's counters (hal/sensor-sampler.ts), once it runs. */
  sampler?: object;
}

export interface DashboardServer extends InfrastructurePlugin {
  /** Where it listens once started. */
  address(): { host: string; port: number } | undefined;
  /**
   * Reads `dashboard.tokenFile` again (`openstarry reload`, SIGHUP): a rotated token works at once and the old one
   * stops working. 'none': not running or no tokenFile. A file that gives no token now keeps the current one
   * (a dashboard must not fall open because a file is being rewritten) and throws why.
   */
  reloadToken(): Promise<'rotated' | 'unchanged' | 'none'>;
  /** For `openstarry status`: the page's URL, whether it is read-only, the stream's and the actions' counters. */
  stats(): DashboardStats | undefined;
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

/**
 * No inline script or style, nothing from another origin, no framing (issue 15; the page loads app.js and app.css
 * from the daemon and talks only to its own /api). On every answer, JSON included.
 */
export const CONTENT_SECURITY_POLICY = "default-src 'self'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

export function createDashboardServer(options: DashboardServerOptions): DashboardServer {
  const target = parseListen(options.listen);
  const log = options.log ?? silentLogger;
  const clock = options.clock ?? systemClock;
  let server: http.Server | undefined;
  let closing: Promise<void> | undefined;
  let token: string | undefined;
  // The stream, the feed and the actions are loaded at the first page or action that needs them, not at boot: a
  // board whose dashboard nobody opens pays only for the listening socket (issue 12, README "Performance").
  let live: Promise<{ hub: SseHub; feed: DashboardFeed; daemon: DashboardDaemon }> | undefined;
  let liveHub: SseHub | undefined;
  const actions: ActionCounters = { applied: 0, refused: 0, unauthorized: 0, invalid: 0 };
  const page = (daemon: DashboardDaemon) =>
    (live ??= (async () => {
      const [{ SseHub }, { DashboardFeed }] = await Promise.all([import('./dashboard-stream.ts'), import('./dashboard-feed.ts')]);
      const hub = (liveHub = new SseHub({ clock, ...options.stream }));
      const feed = new DashboardFeed({ daemon, rules: () => options.sources.rules(), hub, clock, canAct: () => token !== undefined, ...(options.pushMs ? { pushMs: options.pushMs } : {}) });
      return { hub, feed, daemon };
    })());
  let metricsRoute: Promise<MetricsRoute> | undefined;

  const send = (res: http.ServerResponse, head: boolean, status: number, body: unknown, extra: Record<string, string> = {}) => {
    const text = JSON.stringify(body ?? null);
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(Buffer.byteLength(text)),
      'cache-control': 'no-store',
      ...extra,
    });
    res.end(head ? undefined : text);
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    res.setHeader('content-security-policy', CONTENT_SECURITY_POLICY);
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('referrer-policy', 'no-referrer');
    const head = req.method === 'HEAD';
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const daemon = options.daemon;
    if (daemon && !head && req.method !== 'GET' && /^\/api\/(agents|devices)(\/|$)/.test(path)) {
      const [{ handleAction }, { feed }] = await Promise.all([import('./dashboard-actions.ts'), page(daemon)]);
      return handleAction({ req, path, token: () => token, daemon, counters: actions, reply: (status, body, headers) => send(res, false, status, body, headers), onDone: (text) => feed.note('action', text) });
    }
    if (req.method !== 'GET' && !head) return send(res, false, 405, { error: 'method not allowed', allow: 'GET, HEAD' }, { allow: 'GET, HEAD' });
    if (path === '/metrics' && options.metrics) {
      const source = options.metrics;
      metricsRoute ??= import('./metrics-route.ts').then((m) => m.createMetricsRoute({ source, log, loopback: m.isLoopbackHost(target.host), token: () => token }));
      return (await metricsRoute).serve(req, res, head);
    }
    if (daemon && path === '/api/stream' && !head) {
      const { hub, feed } = await page(daemon);
      if (hub.accept(req, res)) hub.send(res, await feed.firstFrame());
      return;
    }
    // The page's files: the module that serves them is loaded at the first request for one.
    const assets = daemon && options.assetsDir && (path === '/' || /^\/[a-z0-9-]+\.[a-z]+$/.test(path)) ? await import('./dashboard-assets.ts') : undefined;
    const asset = assets?.assetName(path);
    if (assets && asset !== undefined) {
      const file = await assets.readAsset(options.assetsDir!, asset);
      if (!file) return send(res, head, 404, { error: `${asset} is not built (npm run build writes dist/dashboard/)` });
      res.writeHead(200, { 'content-type': file.type, 'content-length': String(file.body.length), 'cache-control': 'no-cache' });
      return void res.end(head ? undefined : file.body);
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
      try {
        token = await loadToken(options.tokenFile);
      } catch (err) {
        if (!isLoopback(target.host)) throw new OpenStarryError(ErrorCode.INFRA_FAILED, `dashboard not started: ${(err as Error).message}`, { cause: err });
        log.warn(`${(err as Error).message}; the dashboard is read-only`);
      }
      if (token === undefined && !isLoopback(target.host)) {
        throw new OpenStarryError(ErrorCode.INFRA_FAILED, `dashboard not started: ${options.listen} is not a loopback address, and the dashboard needs a token there (set dashboard.tokenFile)`);
      }
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
      log.info(`dashboard on ${pageUrl(a)}${token === undefined ? ' (read-only: no dashboard.tokenFile)' : ''}`);
    },
    async reloadToken() {
      if (!server || options.tokenFile === undefined) return 'none';
      const next = await loadToken(options.tokenFile);
      if (next === token) return 'unchanged';
      const first = token === undefined;
      token = next;
      log.info(first ? `dashboard token read from ${options.tokenFile}: actions are on` : `dashboard token rotated from ${options.tokenFile}: the previous one no longer works`);
      return 'rotated';
    },
    stop() {
      const s = server;
      if (!s) return Promise.resolve();
      void live?.then(({ feed, hub }) => {
        feed.close();
        hub.close();
      });
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
    stats() {
      const a = server?.address();
      if (!a || typeof a === 'string') return undefined;
      return { url: pageUrl(a), readOnly: token === undefined, stream: liveHub?.stats() ?? { clients: 0, maxClients: options.stream?.maxClients ?? 16, accepted: 0, refused: 0, dropped: 0, events: 0 }, actions: { ...actions }, ...withSampler(options.daemon) };
    },
  };
}

function withSampler(daemon: DashboardDaemon | undefined): { sampler?: object } {
  try {
    const stats = daemon?.samples()?.stats();
    return stats ? { sampler: stats } : {};
  } catch {
    return {};
  }
}

/** The page's address for people: a wildcard listen (0.0.0.0, ::) is shown with the board's host name. */
function pageUrl(a: AddressInfo): string {
  const host = a.address === '0.0.0.0' || a.address === '::' ? hostname() : a.address;
  return `http://${host.includes(':') ? `[${host}]` : host}:${a.port}/`;
}
