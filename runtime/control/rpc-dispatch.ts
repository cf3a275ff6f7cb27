/**
 * One request line -> one JSON-RPC 2.0 response (or none for a notification). Validation happens here, once,
 * at the boundary (docs/ARCHITECTURE.md "Validation at the boundary"): the envelope by hand, the params with the zod tuples of protocol.ts. Errors
 * always carry `data.code` (docs/ARCHITECTURE.md "Control plane") so the client can rebuild the same typed error.
 */
import type { $ZodError } from 'zod/v4/core';
import type { DeployProgress } from '../deploy/deploy-types.ts';
import { ErrorCode, OpenStarryError, jsonRpcCodeOf } from '../errors.ts';
import { nestedDeeperThan, pathToString, isRecord } from '../validation.ts';
import type { DaemonApi, MethodName, MethodParams, MethodResults, RpcErrorObject } from './protocol.ts';
import { methodParamNames, methodParams, RpcCode } from './protocol.ts';
import { Notifications } from './notifications.ts';

export type RpcId = string | number | null;

export type RpcResponse =
  | { jsonrpc: '2.0'; id: RpcId; result: unknown }
  | { jsonrpc: '2.0'; id: RpcId; error: RpcErrorObject };

export type LogFn = (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => void;

/** What a request may do to the connection it came in on. */
export interface RequestScope {
  /** Subscribes the connection to `target`'s new log lines; they flow once this request's response is sent. */
  followLogs(target: string): void;
  /** Sends a notification on the connection while the request runs, before its response (absent over MQTT). */
  notify?(method: string, params: unknown): void;
}

/** Deepest nesting a request's params may have; deeper ones are refused before the schemas recurse into them. */
export const MAX_PARAMS_DEPTH = 64;

/** Lines of backlog when the client does not say; matches `openstarry logs` without -n. */
export const DEFAULT_LOG_LINES = 50;

/** `deploy.progress` notifications per request at most: a deployment reports 7 steps (runtime/deploy/deployer.ts). */
export const MAX_PROGRESS_NOTIFICATIONS = 16;

/** A deployment's progress as `deploy.progress` notifications on the requesting connection, bounded. */
function progressTo(scope: RequestScope): ((p: DeployProgress) => void) | undefined {
  const notify = scope.notify?.bind(scope);
  if (notify === undefined) return undefined;
  let sent = 0;
  return (p) => {
    if (sent >= MAX_PROGRESS_NOTIFICATIONS) return;
    sent += 1;
    notify(Notifications.DEPLOY_PROGRESS, p);
  };
}

type Handlers = {
  [M in MethodName]: (params: MethodParams<M>, scope: RequestScope) => MethodResults[M] | Promise<MethodResults[M]>;
};

function handlersFor(api: DaemonApi): Handlers {
  return {
    spawnAgent: ([target, options]) => api.spawnAgent(target, options ?? {}),
    killAgent: ([pid, signal]) => api.killAgent(pid, signal ?? 'SIGTERM'),
    listAgents: () => api.listAgents(),
    status: () => api.status(),
    'templates.list': () => api.listTemplates(),
    'devices.list': () => api.listDevices(),
    'logs.read': ([target, options]) => api.readLogs(target, options?.lines ?? DEFAULT_LOG_LINES),
    'logs.follow': ([target, options], scope) => {
      // Backlog and subscription in the same tick, so no line falls between them.
      const backlog = api.readLogs(target, options?.lines ?? DEFAULT_LOG_LINES);
      scope.followLogs(target);
      return backlog;
    },
    'events.emit': ([name, data]) => api.emitEvent(name, data),
    'daemon.reload': () => api.reload(),
    'deploy.apply': ([target, options], scope) => api.deploy(target, options ?? {}, progressTo(scope)),
    'deploy.list': () => api.listDeployments(),
    'deploy.rollback': ([templateId, options], scope) => api.rollbackDeployment(templateId, options ?? {}, progressTo(scope)),
  };
}

export function errorResponse(id: RpcId, code: number, message: string, dataCode: string, details?: unknown): RpcResponse {
  const data: RpcErrorObject['data'] = details === undefined ? { code: dataCode } : { code: dataCode, details };
  return { jsonrpc: '2.0', id, error: { code, message, data } };
}

/** A request the server refuses itself: the JSON-RPC code is the registry's for `dataCode` (README "Errors"). */
export function refusal(id: RpcId, dataCode: string, message: string, details?: unknown): RpcResponse {
  return errorResponse(id, jsonRpcCodeOf(dataCode), message, dataCode, details);
}


function isRpcId(value: unknown): value is RpcId {
  return value === null || typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value));
}

function isMethodName(value: string): value is MethodName {
  // hasOwn, not `in`: "toString" or "__proto__" must be unknown methods, not prototype members.
  return Object.hasOwn(methodParams, value);
}

type ParamsResult = { ok: true; positional: unknown[]; names?: readonly string[] } | { ok: false; message: string };

/**
 * Missing params = []; an object is read by name through methodParamNames. Short arrays are padded with
 * undefined so a missing required param is reported by its own path (`params.0`), not as "array too small".
 */
function positionalParams(method: MethodName, params: unknown): ParamsResult {
  const names = methodParamNames[method];
  const pad = (positional: unknown[]): unknown[] => [...positional, ...Array<undefined>(Math.max(0, names.length - positional.length)).fill(undefined)];
  if (params === undefined) return { ok: true, positional: pad([]) };
  if (Array.isArray(params)) return { ok: true, positional: pad(params) };
  if (!isRecord(params)) return { ok: false, message: 'params: must be an array or an object' };
  const unknown = Object.keys(params).filter((k) => !names.includes(k));
  if (unknown.length > 0) {
    const expected = names.length === 0 ? 'no params' : names.join(', ');
    return { ok: false, message: `params.${unknown[0]}: unknown param (${method} takes ${expected})` };
  }
  return { ok: true, positional: names.map((n) => params[n]), names };
}

function paramProblems(error: $ZodError, names: readonly string[] | undefined): { path: string; message: string }[] {
  return error.issues.map((issue) => {
    const path = [...issue.path];
    // A by-name request should see its own names in the error, not tuple indices.
    if (names !== undefined && typeof path[0] === 'number') path[0] = names[path[0]] ?? path[0];
    return { path: path.length === 0 ? 'params' : `params.${pathToString(path)}`, message: issue.message };
  });
}

export class RpcDispatcher {
  readonly #handlers: Handlers;
  readonly #log: LogFn;

  constructor(api: DaemonApi, log: LogFn) {
    this.#handlers = handlersFor(api);
    this.#log = log;
  }

  /** Never throws: every failure becomes an error response. Resolves undefined for notifications. */
  async dispatch(line: string, scope: RequestScope): Promise<RpcResponse | undefined> {
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch (err) {
      return errorResponse(null, RpcCode.PARSE_ERROR, `parse error: ${(err as Error).message}`, ErrorCode.INVALID_REQUEST);
    }
    if (Array.isArray(message)) {
      return refusal(null, ErrorCode.INVALID_REQUEST, 'batch requests are not supported');
    }
    if (!isRecord(message)) {
      return refusal(null, ErrorCode.INVALID_REQUEST, 'invalid request: must be a JSON object');
    }
    const hasId = Object.hasOwn(message, 'id');
    if (hasId && !isRpcId(message.id)) {
      return refusal(null, ErrorCode.INVALID_REQUEST, 'invalid request: id must be a string, a number or null');
    }
    const id: RpcId = hasId ? (message.id as RpcId) : null;
    if (message.jsonrpc !== '2.0') {
      return refusal(id, ErrorCode.INVALID_REQUEST, 'invalid request: jsonrpc must be "2.0"');
    }
    if (typeof message.method !== 'string') {
      return refusal(id, ErrorCode.INVALID_REQUEST, 'invalid request: method must be a string');
    }
    const response = await this.#call(id, message.method, message.params, scope);
    // JSON-RPC 2.0 §4.1: a notification is executed but never answered, not even with an error.
    return hasId ? response : undefined;
  }

  async #call(id: RpcId, method: string, rawParams: unknown, scope: RequestScope): Promise<RpcResponse> {
    if (!isMethodName(method)) {
      return refusal(id, ErrorCode.METHOD_NOT_FOUND, `method not found: ${method}`);
    }
    const params = positionalParams(method, rawParams);
    if (!params.ok) return refusal(id, ErrorCode.INVALID_PARAMS, params.message);
    // A few KB of `[` parse into a value that overflows the stack of zod's recursive z.json(): a RangeError, no answer.
    if (nestedDeeperThan(params.positional, MAX_PARAMS_DEPTH + 1)) {
      const problem = { path: 'params', message: `nested deeper than ${MAX_PARAMS_DEPTH} levels` };
      return refusal(id, ErrorCode.INVALID_PARAMS, `${problem.path}: ${problem.message}`, { problems: [problem] });
    }
    const parsed = methodParams[method].safeParse(params.positional);
    if (!parsed.success) {
      const problems = paramProblems(parsed.error, params.names);
      const text = problems.map((p) => `${p.path}: ${p.message}`).join('; ');
      return refusal(id, ErrorCode.INVALID_PARAMS, text, { problems });
    }
    try {
      const handler = this.#handlers[method] as (p: unknown, s: RequestScope) => unknown;
      const result = await handler(parsed.data, scope);
      // `undefined` would drop the result key from the JSON and make the response invalid.
      return { jsonrpc: '2.0', id, result: result ?? null };
    } catch (err) {
      if (err instanceof OpenStarryError) {
        // What a method raises is an application error (-32000) whatever its code: the reserved codes describe the request.
        return errorResponse(id, RpcCode.APPLICATION_ERROR, err.message, err.code, err.details);
      }
      this.#log('error', `control: ${method} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      const text = err instanceof Error ? err.message : String(err);
      return refusal(id, ErrorCode.INTERNAL, `internal error: ${text}`);
    }
  }
}
