/**
 * The error registry of the runtime (DESIGN §5.3). Pure: the core raises these inside any isolate and the
 * daemon raises them on its side; both cross the channel and the control plane as `{ code, message }`.
 */
export const ErrorCode = {
  /** The daemon's config file is not valid YAML or does not match the schema. */
  CONFIG_INVALID: 'ERR_CONFIG_INVALID',
  /** An agent manifest (agent.json) does not match the schema or names missing plugin files. */
  MANIFEST_INVALID: 'ERR_MANIFEST_INVALID',
  /** A template failed validation in the design layer; it is excluded. */
  TEMPLATE_INVALID: 'ERR_TEMPLATE_INVALID',
  /** No valid template with that id. */
  TEMPLATE_NOT_FOUND: 'ERR_TEMPLATE_NOT_FOUND',
  /** Spec 002 "uniqueness": an agent with that id already has a live instance. */
  AGENT_EXISTS: 'ERR_AGENT_EXISTS',
  /** The manifest asks for an isolation driver this daemon does not have. */
  ISOLATION_UNAVAILABLE: 'ERR_ISOLATION_UNAVAILABLE',
  /** No agent with that pid. */
  AGENT_NOT_FOUND: 'ERR_AGENT_NOT_FOUND',
  /** Agent code asked for a module or host facility the isolate refuses (node:fs, native addons, ...). */
  ISOLATE_DENIED: 'ERR_ISOLATE_DENIED',
  /** A plugin module could not be loaded or its default export is not a plugin. */
  PLUGIN_INVALID: 'ERR_PLUGIN_INVALID',
  /** A plugin's start() threw or rejected. */
  PLUGIN_START_FAILED: 'ERR_PLUGIN_START_FAILED',
  /** The daemon failed to boot (missing master template, socket in use, ...). */
  BOOT_FAILED: 'ERR_BOOT_FAILED',
  /** The daemon is not ready for this request yet, or is shutting down. */
  NOT_READY: 'ERR_NOT_READY',
  /** A control-plane request had missing or wrongly typed params. */
  INVALID_PARAMS: 'ERR_INVALID_PARAMS',
  /** Unknown control-plane method. */
  METHOD_NOT_FOUND: 'ERR_METHOD_NOT_FOUND',
  /** A control-plane request was not valid JSON-RPC (not JSON, too large, not an object). */
  INVALID_REQUEST: 'ERR_INVALID_REQUEST',
  /** The CLI could not reach the daemon's control socket. */
  DAEMON_UNREACHABLE: 'ERR_DAEMON_UNREACHABLE',
  /** The CLI may not connect to the control socket (EACCES/EPERM): the user is not in the socket's group. */
  SOCKET_PERMISSION_DENIED: 'ERR_SOCKET_PERMISSION_DENIED',
  /** An infrastructure plugin failed to start. */
  INFRA_FAILED: 'ERR_INFRA_FAILED',
  /** A notification to systemd (sd_notify(3): READY=1, WATCHDOG=1, ...) could not be sent to NOTIFY_SOCKET. */
  SD_NOTIFY_FAILED: 'ERR_SD_NOTIFY_FAILED',
  /** The isolate ended or the channel closed while a request was pending. */
  CHANNEL_CLOSED: 'ERR_CHANNEL_CLOSED',
  /** An isolate sent a channel message over agents.maxMessageBytes; the agent is stopped (message-too-large). */
  MESSAGE_TOO_LARGE: 'ERR_MESSAGE_TOO_LARGE',
  /** Anything else; the message says what. */
  INTERNAL: 'ERR_INTERNAL',
  /** An agent's state snapshot is larger than the state DB's per-agent cap (an SD card is rewritten with it). */
  STATE_TOO_LARGE: 'ERR_STATE_TOO_LARGE',
  /** A value given to the state DB is not plain JSON data (function, BigInt, cycle, ...) or fails its schema. */
  STATE_INVALID: 'ERR_STATE_INVALID',
  /** The state DB could not read or write its file (disk full, I/O error, read-only file system). */
  STATE_IO: 'ERR_STATE_IO',
  /** ctx.metering was given a token count that is not an integer from 0 to the per-call cap, or a bad `info`. */
  METERING_INVALID: 'ERR_METERING_INVALID',
  /** The remote design-layer service (templates.url) did not answer, answered an error, or timed out. */
  DESIGN_LAYER_UNREACHABLE: 'ERR_DESIGN_LAYER_UNREACHABLE',
  /** A boundary event with a bad name (not topic-safe, too long) or data that is not JSON or over 64 KiB. */
  EVENT_INVALID: 'ERR_EVENT_INVALID',
  /** An agent publishes events faster than the daemon accepts them from one agent. */
  EVENT_RATE_LIMITED: 'ERR_EVENT_RATE_LIMITED',
  /** An orchestration rules file (orchestration.yaml) is not valid YAML or does not match the schema. */
  RULES_INVALID: 'ERR_RULES_INVALID',
  /**
   * The control socket closed a connection before reading a request from it (idle, request too slow, evicted or
   * refused at the connection cap) or refused a follow over its cap: nothing was done, the request may be retried.
   */
  CONTROL_BUSY: 'ERR_CONTROL_BUSY',
} as const;

export type ErrorCodeName = (typeof ErrorCode)[keyof typeof ErrorCode];

const knownCodes = new Set<string>(Object.values(ErrorCode));

/** The shape errors take on the channel and in JSON-RPC `error.data`. */
export interface WireError {
  code: string;
  message: string;
  details?: unknown;
}

export class OpenStarryError extends Error {
  override readonly name = 'OpenStarryError';
  readonly code: string;
  readonly details: unknown;

  constructor(code: ErrorCodeName | string, message: string, options?: { cause?: unknown; details?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options?.details;
  }
}

export function isOpenStarryError(value: unknown): value is OpenStarryError {
  return value instanceof OpenStarryError;
}

/** Any thrown value -> `{ code, message }`; unknown errors keep their own `code` if it looks like one. */
export function errorToWire(err: unknown): WireError {
  if (err instanceof OpenStarryError) {
    return err.details === undefined
      ? { code: err.code, message: err.message }
      : { code: err.code, message: err.message, details: err.details };
  }
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { code: typeof code === 'string' && code.startsWith('ERR_') ? code : ErrorCode.INTERNAL, message: err.message };
  }
  return { code: ErrorCode.INTERNAL, message: String(err) };
}

/** `{ code, message }` -> the same typed error on the receiving side. */
export function errorFromWire(wire: WireError): OpenStarryError {
  const code = knownCodes.has(wire.code) || wire.code.startsWith('ERR_') ? wire.code : ErrorCode.INTERNAL;
  return new OpenStarryError(code, wire.message, wire.details === undefined ? undefined : { details: wire.details });
}
