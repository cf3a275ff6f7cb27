/**
 * Remote control-plane calls over MQTT (README "MQTT, remote triggers and rules", `cmd/<method>`): `<prefix>cmd/<method>` with a JSON payload
 * `{ "params": [...] | {...}, "id"?: ... }` runs the same method the CLI would, through the same dispatcher and
 * the same parameter validation as the control socket, but only for methods in `mqtt.commands`. The answer goes
 * to the MQTT 5 response topic (with the request's correlation data) or, without one, to
 * `<prefix>reply/<id>` when the payload carries an `id` — else it is logged and not sent.
 *
 * Never code, paths or manifests from the network: a remote spawnAgent takes a template id (the design layer
 * supplies the manifest), and logs.follow, a stream, cannot be allowed at all.
 */
import { ErrorCode, OpenStarryError } from '../errors.ts';
import type { Logger } from '../logging/logger.ts';
import type { DaemonApi } from '../control/protocol.ts';
import { MAX_PARAMS_DEPTH, RpcDispatcher } from '../control/rpc-dispatch.ts';
import type { RpcResponse } from '../control/rpc-dispatch.ts';
import { AGENT_ID } from '../design/manifest-schema.ts';
import { nestedDeeperThan } from '../validation.ts';
import type { IncomingMessage } from './incoming-dispatch.ts';
import type { MqttLink } from './mqtt-link.ts';

export interface RemoteCommandCounters {
  received: number;
  answered: number;
  refused: number;
  invalid: number;
}

export interface RemoteCommandsOptions {
  link: Pick<MqttLink, 'subscribe'>;
  api: DaemonApi;
  allow: readonly string[];
  log?: Logger;
}

const ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Subscribes `cmd/+`; returns the counters (for status) and the unsubscribe function. */
export function serveRemoteCommands(options: RemoteCommandsOptions): { counters: RemoteCommandCounters; close(): void } {
  const counters: RemoteCommandCounters = { received: 0, answered: 0, refused: 0, invalid: 0 };
  const allow = new Set(options.allow);
  const dispatcher = new RpcDispatcher(remoteApi(options.api), (level, msg) => options.log?.[level](msg));
  const refuseFollow = {
    followLogs: () => {
      throw new OpenStarryError(ErrorCode.INVALID_REQUEST, 'logs.follow is not available over MQTT');
    },
  };
  const handle = async (message: IncomingMessage): Promise<void> => {
    counters.received++;
    const method = message.relativeTopic?.slice('cmd/'.length) ?? '';
    // A retained command would run again at every reconnect (the link resubscribes): never act on one.
    if (message.retain) {
      counters.refused++;
      options.log?.warn(`mqtt cmd/${method}: retained message ignored (commands are never retained; clear it with an empty retained publish)`);
      return;
    }
    // The answer is published with this device's own credentials: a response topic inside the openstarry/ space
    // would let anyone allowed to ask `status` inject events or commands into this or every device.
    const rt = message.responseTopic;
    if (rt !== undefined && (rt.startsWith('openstarry/') || rt.startsWith('$') || /[+#]/.test(rt))) {
      counters.refused++;
      options.log?.warn(`mqtt cmd/${method}: refused: response topic ${JSON.stringify(rt.slice(0, 100))} is inside openstarry/ (or reserved)`);
      return;
    }
    let body: { params?: unknown; id?: unknown } = {};
    let id: string | undefined;
    const answer = (response: RpcResponse | { error: { code: string; message: string } }): void => {
      const payload = JSON.stringify(response);
      try {
        message.reply(payload, id === undefined ? { qos: 1 } : { qos: 1, fallbackCorrelation: id });
        counters.answered++;
      } catch {
        options.log?.warn(`mqtt cmd/${method}: no response topic and no id; answer not sent`);
      }
    };
    try {
      const parsed: unknown = message.payload.length === 0 ? {} : JSON.parse(message.payload.toString('utf8'));
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('payload must be a JSON object { "params": ..., "id": ... }');
      body = parsed as typeof body;
      const unknown = Object.keys(body).filter((k) => k !== 'params' && k !== 'id');
      if (unknown.length > 0) throw new Error(`unknown key "${unknown[0]}" (only "params" and "id")`);
      // Checked before the params are serialised again for the dispatcher: JSON.stringify of a value nested a few
      // thousand levels deep (a few KB of `[`) throws RangeError, and the command would go unanswered.
      if (nestedDeeperThan(body.params, MAX_PARAMS_DEPTH)) throw new Error(`params: nested deeper than ${MAX_PARAMS_DEPTH} levels`);
      if (body.id !== undefined) {
        if (typeof body.id !== 'string' || !ID.test(body.id)) throw new Error('id must be 1-128 letters, digits, ".", "_", ":" or "-"');
        id = body.id;
      }
    } catch (err) {
      counters.invalid++;
      options.log?.warn(`mqtt cmd/${method}: rejected: ${(err as Error).message}`);
      answer({ error: { code: ErrorCode.INVALID_REQUEST, message: `cmd/${method}: ${(err as Error).message}` } });
      return;
    }
    if (!allow.has(method)) {
      counters.refused++;
      options.log?.warn(`mqtt cmd/${method}: refused (not in mqtt.commands)`);
      answer({ error: { code: ErrorCode.METHOD_NOT_FOUND, message: `cmd/${method} is not allowed on this device (mqtt.commands)` } });
      return;
    }
    const line = JSON.stringify({ jsonrpc: '2.0', id: id ?? null, method, ...(body.params === undefined ? {} : { params: body.params }) });
    const response = await dispatcher.dispatch(line, refuseFollow);
    if (response && 'error' in response) {
      counters.invalid++;
      options.log?.info(`mqtt cmd/${method}: ${response.error.message}`);
    }
    if (response) answer(response);
  };
  const close = options.link.subscribe('cmd/+', (m) => void handle(m).catch((err: Error) => options.log?.error(`mqtt cmd: ${err.message}`)));
  return { counters, close };
}

/** The daemon as the network may use it: spawns by template id only. */
function remoteApi(api: DaemonApi): DaemonApi {
  return {
    ...bindAll(api),
    spawnAgent: (target, opts) => {
      if (!AGENT_ID.test(target)) throw new OpenStarryError(ErrorCode.INVALID_PARAMS, `params.target: a remote spawn takes a template id, not "${target.slice(0, 80)}"`);
      // The template's author chose its isolation; the network may not move it into the daemon's own process.
      if (opts.isolation !== undefined) throw new OpenStarryError(ErrorCode.INVALID_PARAMS, 'params.options.isolation: a remote spawn runs the template\'s own isolation');
      return api.spawnAgent(target, {});
    },
  };
}

function bindAll(api: DaemonApi): DaemonApi {
  return {
    spawnAgent: (t, o) => api.spawnAgent(t, o),
    killAgent: (p, s) => api.killAgent(p, s),
    listAgents: () => api.listAgents(),
    status: () => api.status(),
    listTemplates: () => api.listTemplates(),
    listDevices: () => api.listDevices(),
    readLogs: (t, n) => api.readLogs(t, n),
    emitEvent: (n, d) => api.emitEvent(n, d),
    // Not in REMOTE_METHODS (mqtt-config.ts): a reload is the board owner's, from the board.
    reload: () => api.reload(),
    followLogs: () => {
      throw new OpenStarryError(ErrorCode.INVALID_REQUEST, 'logs.follow is not available over MQTT');
    },
    // Not in REMOTE_METHODS either: a fleet deploys through its signed deployment documents (runtime/fleet/).
    deploy: (t, o) => api.deploy(t, o),
    listDeployments: () => api.listDeployments(),
    rollbackDeployment: (id, o) => api.rollbackDeployment(id, o),
  };
}
