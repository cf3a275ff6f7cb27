/**
 * The dashboard's mutations (issue 15 "Actions"; README "Dashboard"):
 *   POST   /api/agents                   { "template": "<id>" }        spawn -> 201 and the agent's status
 *   DELETE /api/agents/<pid>             (or POST /api/agents/<pid>/kill)  kill (SIGTERM) -> 200
 *   POST   /api/devices/<id>/control     { "command": "on" | 42 | true }  switch an actuator -> 200
 * Each needs `Authorization: Bearer <token>` (the token: dashboard-auth.ts): 403 when no token is configured (the dashboard
 * is read-only), 401 without it or with a wrong one. A body is JSON of at most MAX_BODY_BYTES (413 beyond), checked
 * against its schema (400 naming the field). A refusal by the daemon (an actuator an agent owns, a rate limit, an
 * unknown template) answers its registry code with the registry's HTTP status.
 */
import { bearerMatches } from './dashboard-auth.ts';
import type http from 'node:http';
import * as z from 'zod/mini';
import '../zod-messages.ts';
import { errorSpec } from '../core/error-registry.ts';
import type { DashboardDaemon } from './dashboard-feed.ts';

export const MAX_BODY_BYTES = 4096;

export type Reply = (status: number, body: unknown, headers?: Record<string, string>) => void;

const spawnBody = z.strictObject({ template: z.string().check(z.minLength(1), z.maxLength(200)) });
const controlBody = z.strictObject({ command: z.union([z.string().check(z.minLength(1), z.maxLength(64)), z.number(), z.boolean()]) });

export interface ActionCounters {
  applied: number;
  refused: number;
  unauthorized: number;
  invalid: number;
}

interface Route {
  method: string;
  match: RegExp;
  run(daemon: DashboardDaemon, params: string[], body: unknown): Promise<{ status: number; body: unknown; note: string }>;
  schema?: z.ZodMiniType;
}

const ROUTES: Route[] = [
  {
    method: 'POST',
    match: /^\/api\/agents$/,
    schema: spawnBody,
    run: async (d, _p, body) => {
      const { template } = body as z.infer<typeof spawnBody>;
      const s = await d.spawn(template);
      return { status: 201, body: s, note: `spawned ${template} as ${s.agentId} (${s.pid})` };
    },
  },
  { method: 'DELETE', match: /^\/api\/agents\/([^/]+)$/, run: kill },
  { method: 'POST', match: /^\/api\/agents\/([^/]+)\/kill$/, run: kill },
  {
    method: 'POST',
    match: /^\/api\/devices\/([^/]+)\/control$/,
    schema: controlBody,
    run: async (d, [id], body) => {
      const { command } = body as z.infer<typeof controlBody>;
      await d.control(id!, command);
      return { status: 200, body: { ok: true, device: id, command }, note: `${id} -> ${JSON.stringify(command)}` };
    },
  },
];

async function kill(d: DashboardDaemon, [pid]: string[]): Promise<{ status: number; body: unknown; note: string }> {
  const s = await d.kill(pid!);
  return { status: 200, body: s, note: `killed ${s.agentId} (${pid})` };
}



/**
 * Runs one action request to its end. `onDone(text)` is told what was done (the page's "last events").
 */
export async function handleAction(o: {
  req: http.IncomingMessage;
  path: string;
  /** The token in force now: a reload may rotate it while this request's body is still arriving. */
  token: () => string | undefined;
  daemon: DashboardDaemon;
  counters: ActionCounters;
  reply: Reply;
  onDone(text: string): void;
}): Promise<void> {
  const { req, reply, counters } = o;
  const routes = ROUTES.filter((r) => r.match.test(o.path));
  const route = routes.find((r) => r.method === req.method);
  if (!route) {
    const allow = routes.map((r) => r.method).join(', ');
    return reply(405, { error: `method not allowed (allow: ${allow})` }, { allow });
  }
  if (o.token() === undefined) {
    counters.unauthorized += 1;
    return reply(403, { error: 'the dashboard is read-only: no dashboard.tokenFile is configured' });
  }
  const unauthorized = () => {
    counters.unauthorized += 1;
    req.resume();
    return reply(401, { error: 'a valid "Authorization: Bearer <token>" header is needed (the token is in dashboard.tokenFile)' }, { 'www-authenticate': 'Bearer realm="openstarry"' });
  };
  if (!bearerMatches(req.headers.authorization, o.token())) return unauthorized();
  let body: unknown;
  if (route.schema) {
    const read = await readJson(req);
    if ('status' in read) {
      counters.invalid += 1;
      return reply(read.status, { error: read.error });
    }
    const parsed = z.safeParse(route.schema, read.value);
    if (!parsed.success) {
      counters.invalid += 1;
      const issue = parsed.error.issues[0];
      return reply(400, { error: `body: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}` });
    }
    body = parsed.data;
  } else {
    req.resume();
  }
  let params: string[];
  try {
    params = (route.match.exec(o.path) ?? []).slice(1).map((p) => decodeURIComponent(p));
  } catch {
    counters.invalid += 1;
    return reply(400, { error: `${o.path}: not a valid URL path` });
  }
  // Again right before acting: a body may take up to the server's requestTimeout to arrive, and a token rotated by
  // `openstarry reload` meanwhile is refused from the reload on (README "Dashboard").
  if (!bearerMatches(req.headers.authorization, o.token())) return unauthorized();
  try {
    const done = await route.run(o.daemon, params, body);
    counters.applied += 1;
    o.onDone(done.note);
    return reply(done.status, done.body);
  } catch (err) {
    counters.refused += 1;
    const code = (err as { code?: unknown }).code;
    const spec = typeof code === 'string' ? errorSpec(code) : undefined;
    o.onDone(`refused: ${(err as Error).message}`);
    return reply(spec?.http ?? 500, { error: (err as Error).message, ...(spec ? { code: spec.code } : {}) });
  }
}

/** The request body as JSON, at most MAX_BODY_BYTES. */
function readJson(req: http.IncomingMessage): Promise<{ value: unknown } | { status: number; error: string }> {
  return new Promise((resolve) => {
    const type = req.headers['content-type'] ?? '';
    if (!/^application\/json\b/i.test(type)) {
      req.resume();
      return resolve({ status: 415, error: 'the body must be JSON (content-type: application/json)' });
    }
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_BODY_BYTES) {
      req.resume();
      return resolve({ status: 413, error: `the body is over ${MAX_BODY_BYTES} bytes` });
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) over = true;
      else chunks.push(c);
    });
    req.on('error', () => resolve({ status: 400, error: 'the request body could not be read' }));
    req.on('end', () => {
      if (over) return resolve({ status: 413, error: `the body is over ${MAX_BODY_BYTES} bytes` });
      try {
        resolve({ value: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown });
      } catch (err) {
        resolve({ status: 400, error: `the body is not JSON: ${(err as Error).message}` });
      }
    });
  });
}
