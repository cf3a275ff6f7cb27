/**
 * The one error registry of openstarryd: every `ERR_…` code the runtime, the HAL, the drivers and the board
 * profiles raise or pass on, with its default message and how it maps outwards — the HTTP status of an HTTP answer
 * (the dashboard's and the design layer's JSON), the JSON-RPC `error.code` of the control socket, the exit code of
 * `openstarry`, and whether a caller may simply try again. The README's error table is generated from it
 * (error-table.ts; error-registry.test.ts keeps the two in step, and fails on an `'ERR_…'` literal anywhere else).
 *
 * Base layer: imported by the agent host inside every isolate and by the drivers, so it imports nothing. The string
 * values are contract (CLI output, MQTT command replies, /api, the channel): never change one, only add.
 */

/** How one code maps outwards. Defaults: `rpc` -32000 (JSON-RPC application error), `exit` 1, not retryable. */
export interface ErrorSpec {
  readonly code: string;
  /** What the code means; also the message of an error raised without one. `{name}` marks a value filled in. */
  readonly message: string;
  /** The HTTP status an HTTP answer carrying this code uses. */
  readonly http: number;
  /** The JSON-RPC 2.0 `error.code` (spec §5.1) the control socket answers when it refuses a request with this code. */
  readonly rpc?: number;
  /** The exit code of `openstarry` when a command fails with this code (README "Errors": 1 failed, 2 usage, 3 unreachable). */
  readonly exit?: 1 | 2 | 3;
  /** Nothing was done, so the same call is made again (the control client retries it with a short backoff). */
  readonly retryable?: boolean;
}

/** JSON-RPC 2.0 §5.1 error codes, and the server-defined code every domain error answers with (`data.code` says which). */
export const JsonRpcCode = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
  APPLICATION_ERROR: -32000,
} as const;

/** Each key is its code without the `ERR_` prefix (checked by the type below and by error-registry.test.ts). */
type Registry<T> = { readonly [K in keyof T]: ErrorSpec & { readonly code: `ERR_${K & string}` } };
function defineRegistry<const T extends Registry<T>>(registry: T): T {
  return registry;
}

export const ERRORS = defineRegistry({
  // Daemon: configuration, templates, agents (spec 002).
  CONFIG_INVALID: { code: 'ERR_CONFIG_INVALID', message: 'the config file is not valid YAML or does not match the schema', http: 400 },
  MANIFEST_INVALID: { code: 'ERR_MANIFEST_INVALID', message: 'an agent manifest does not match the schema or names missing plugin files', http: 400 },
  TEMPLATE_INVALID: { code: 'ERR_TEMPLATE_INVALID', message: 'the template failed validation; it is excluded', http: 422 },
  TEMPLATE_NOT_FOUND: { code: 'ERR_TEMPLATE_NOT_FOUND', message: 'no valid template with that id', http: 404 },
  AGENT_EXISTS: { code: 'ERR_AGENT_EXISTS', message: 'an agent with that id already has a live instance', http: 409 },
  ISOLATION_UNAVAILABLE: { code: 'ERR_ISOLATION_UNAVAILABLE', message: 'the manifest asks for an isolation driver this daemon does not have', http: 501 },
  AGENT_NOT_FOUND: { code: 'ERR_AGENT_NOT_FOUND', message: 'no agent with that pid', http: 404 },
  ISOLATE_DENIED: { code: 'ERR_ISOLATE_DENIED', message: 'the isolate refuses this module or host facility (node:fs, native addons, ...)', http: 403 },
  PLUGIN_INVALID: { code: 'ERR_PLUGIN_INVALID', message: 'a plugin module could not be loaded or its default export is not a plugin', http: 400 },
  PLUGIN_START_FAILED: { code: 'ERR_PLUGIN_START_FAILED', message: "a plugin's start() threw or rejected", http: 500 },
  BOOT_FAILED: { code: 'ERR_BOOT_FAILED', message: 'the daemon failed to boot (missing master template, socket in use, ...)', http: 500 },
  NOT_READY: { code: 'ERR_NOT_READY', message: 'the daemon is not ready for this request yet, or is shutting down', http: 503 },
  INFRA_FAILED: { code: 'ERR_INFRA_FAILED', message: 'an infrastructure plugin failed to start', http: 500 },
  SD_NOTIFY_FAILED: { code: 'ERR_SD_NOTIFY_FAILED', message: 'a notification to systemd could not be sent to NOTIFY_SOCKET', http: 500 },
  INTERNAL: { code: 'ERR_INTERNAL', message: 'internal error', http: 500, rpc: JsonRpcCode.INTERNAL_ERROR },
  // Control plane (README "A short tour") and the CLI.
  INVALID_PARAMS: { code: 'ERR_INVALID_PARAMS', message: 'a request had missing or wrongly typed params', http: 400, rpc: JsonRpcCode.INVALID_PARAMS },
  METHOD_NOT_FOUND: { code: 'ERR_METHOD_NOT_FOUND', message: 'unknown method', http: 404, rpc: JsonRpcCode.METHOD_NOT_FOUND },
  INVALID_REQUEST: { code: 'ERR_INVALID_REQUEST', message: 'not a valid JSON-RPC request (not JSON, too large, not an object)', http: 400, rpc: JsonRpcCode.INVALID_REQUEST },
  CONTROL_BUSY: { code: 'ERR_CONTROL_BUSY', message: 'the control socket closed the connection before reading a request; nothing was done, retry', http: 503, retryable: true },
  DAEMON_UNREACHABLE: { code: 'ERR_DAEMON_UNREACHABLE', message: "the CLI could not reach the daemon's control socket", http: 503, exit: 3 },
  SOCKET_PERMISSION_DENIED: { code: 'ERR_SOCKET_PERMISSION_DENIED', message: "the user may not connect to the control socket (not in the socket's group)", http: 403, exit: 3 },
  USAGE: { code: 'ERR_USAGE', message: 'wrong invocation of openstarry', http: 400, exit: 2 },
  // The isolate channel and how an isolate ends (README "Resource limits").
  CHANNEL_CLOSED: { code: 'ERR_CHANNEL_CLOSED', message: 'the isolate ended or the channel closed while a request was pending', http: 503 },
  CHANNEL_PROTOCOL: { code: 'ERR_CHANNEL_PROTOCOL', message: 'the agent broke the channel protocol; its container was killed', http: 500 },
  MESSAGE_TOO_LARGE: { code: 'ERR_MESSAGE_TOO_LARGE', message: 'an isolate sent a channel message over agents.maxMessageBytes; the agent is stopped', http: 413 },
  ISOLATE_START: { code: 'ERR_ISOLATE_START', message: 'the isolate could not be started', http: 500 },
  UNCAUGHT: { code: 'ERR_UNCAUGHT', message: 'the agent threw an uncaught error', http: 500 },
  UNKNOWN: { code: 'ERR_UNKNOWN', message: 'the agent crashed with an error that carries no code', http: 500 },
  WORKER_OUT_OF_MEMORY: { code: 'ERR_WORKER_OUT_OF_MEMORY', message: 'a worker agent ran out of its heap (limits.memoryMb; the code is Node\'s own)', http: 500 },
  PROCESS_OUT_OF_MEMORY: { code: 'ERR_PROCESS_OUT_OF_MEMORY', message: 'a process agent ran out of its heap (limits.memoryMb)', http: 500 },
  CONTAINER_OUT_OF_MEMORY: { code: 'ERR_CONTAINER_OUT_OF_MEMORY', message: 'a docker agent was killed by the kernel for memory (limits.memoryMb)', http: 500 },
  CONTAINER_LOST: { code: 'ERR_CONTAINER_LOST', message: "the daemon lost track of the agent's container", http: 500 },
  WASM_OUT_OF_MEMORY: { code: 'ERR_WASM_OUT_OF_MEMORY', message: 'a wasm agent ran out of QuickJS memory (limits.memoryMb)', http: 500 },
  WASM_DEADLINE: { code: 'ERR_WASM_DEADLINE', message: 'a wasm agent ran past its deadline without yielding; ended by the interrupt', http: 500 },
  ACCESS_DENIED: { code: 'ERR_ACCESS_DENIED', message: "Node's permission model refused the agent a file or facility (process isolation)", http: 403 },
  // Agent facilities: state DB, metering, boundary events, orchestration (README "Writing an agent", "MQTT, remote triggers and rules").
  STATE_TOO_LARGE: { code: 'ERR_STATE_TOO_LARGE', message: "an agent's state snapshot is larger than the state DB's per-agent cap", http: 413 },
  STATE_INVALID: { code: 'ERR_STATE_INVALID', message: 'a value given to the state DB is not plain JSON data or fails its schema', http: 400 },
  STATE_IO: { code: 'ERR_STATE_IO', message: 'the state DB could not read or write its file (disk full, I/O error, read-only)', http: 500 },
  METERING_INVALID: { code: 'ERR_METERING_INVALID', message: 'ctx.metering was given a bad token count or info', http: 400 },
  DESIGN_LAYER_UNREACHABLE: { code: 'ERR_DESIGN_LAYER_UNREACHABLE', message: 'the remote design layer did not answer, answered an error, or timed out', http: 502 },
  EVENT_INVALID: { code: 'ERR_EVENT_INVALID', message: 'a boundary event with a bad name, or data that is not JSON or over 64 KiB', http: 400 },
  EVENT_RATE_LIMITED: { code: 'ERR_EVENT_RATE_LIMITED', message: 'an agent publishes events faster than the daemon accepts them', http: 429 },
  RULES_INVALID: { code: 'ERR_RULES_INVALID', message: 'the orchestration rules file is not valid YAML or does not match the schema', http: 400 },
  // The design layer's HTTP service (`openstarry design-layer`).
  METHOD_NOT_ALLOWED: { code: 'ERR_METHOD_NOT_ALLOWED', message: 'the design layer is read-only: GET and HEAD only', http: 405 },
  NOT_FOUND: { code: 'ERR_NOT_FOUND', message: 'no such route', http: 404 },
  // The MQTT link (README "MQTT, remote triggers and rules").
  LINK_CONFIG: { code: 'ERR_LINK_CONFIG', message: 'the mqtt config is invalid, or a file it names (TLS, password) is unreadable', http: 400 },
  LINK_TOPIC_INVALID: { code: 'ERR_LINK_TOPIC_INVALID', message: 'a topic or topic filter is not valid', http: 400 },
  LINK_STOPPED: { code: 'ERR_LINK_STOPPED', message: 'the link is stopped', http: 503 },
  LINK_OFFLINE: { code: 'ERR_LINK_OFFLINE', message: 'a QoS 0 or direct publish needs a connection and there is none', http: 503 },
  LINK_NO_RESPONSE_TOPIC: { code: 'ERR_LINK_NO_RESPONSE_TOPIC', message: 'reply() on a message without a response topic or correlation', http: 400 },
  LINK_QUEUE_IO: { code: 'ERR_LINK_QUEUE_IO', message: 'the persisted outbound queue could not be read or written', http: 500 },
  LINK_MESSAGE_TOO_LARGE: { code: 'ERR_LINK_MESSAGE_TOO_LARGE', message: 'a message is larger than the whole outbound queue may hold', http: 413 },
  LINK_BROKER_LISTEN: { code: 'ERR_LINK_BROKER_LISTEN', message: 'the embedded broker could not listen (port in use, no permission)', http: 500 },
  // The HAL (README "On a board").
  CAPABILITY_INVALID: { code: 'ERR_CAPABILITY_INVALID', message: 'a manifest capability names no device, or one of the wrong kind', http: 400 },
  CAPABILITY_DENIED: { code: 'ERR_CAPABILITY_DENIED', message: "a call outside the agent's grants", http: 403 },
  DEVICE_BUSY: { code: 'ERR_DEVICE_BUSY', message: 'the actuator or port is owned by another live agent', http: 409 },
  DEVICE_NOT_FOUND: { code: 'ERR_DEVICE_NOT_FOUND', message: 'no device with that id', http: 404 },
  DEVICE_FAILED: { code: 'ERR_DEVICE_FAILED', message: 'the device failed to initialise or its last operation failed', http: 502 },
  ENVELOPE_VIOLATION: { code: 'ERR_ENVELOPE_VIOLATION', message: "a command outside the actuator's envelope", http: 400 },
  RATE_LIMITED: { code: 'ERR_RATE_LIMITED', message: "commands to this actuator arrive faster than its rate limit", http: 429 },
  DEVICE_CONFIG_INVALID: { code: 'ERR_DEVICE_CONFIG_INVALID', message: 'a devices[] entry or a board profile device is invalid', http: 400 },
  HAL_TOO_MANY_HANDLES: { code: 'ERR_HAL_TOO_MANY_HANDLES', message: 'the agent holds as many watches or camera streams as it may', http: 429 },
  HANDLE_CLOSED: { code: 'ERR_HANDLE_CLOSED', message: 'unknown stream, watch or port handle (already closed)', http: 410 },
  // Drivers: buses and chips (their `cause` keeps the binding's own error).
  DRIVER_OPEN_FAILED: { code: 'ERR_DRIVER_OPEN_FAILED', message: 'the bus, line or port could not be opened', http: 502 },
  DRIVER_IO: { code: 'ERR_DRIVER_IO', message: 'an I/O operation failed after the bounded retries', http: 502 },
  DRIVER_BAD_DEVICE: { code: 'ERR_DRIVER_BAD_DEVICE', message: 'the chip answered, but not as its datasheet says', http: 502 },
  DRIVER_INVALID_ARGUMENT: { code: 'ERR_DRIVER_INVALID_ARGUMENT', message: 'arguments outside what the bus or chip accepts', http: 400 },
  DRIVER_CLOSED: { code: 'ERR_DRIVER_CLOSED', message: 'the handle was closed', http: 410 },
  DRIVER_TIMEOUT: { code: 'ERR_DRIVER_TIMEOUT', message: 'a read did not complete in time', http: 504 },
  DRIVER_UNAVAILABLE: { code: 'ERR_DRIVER_UNAVAILABLE', message: 'the real binding cannot run here (no native addon, no kernel support)', http: 501 },
  // Board profiles: loading, detection, pin resolution.
  BOARD_PROFILE_INVALID: { code: 'ERR_BOARD_PROFILE_INVALID', message: 'a board profile is not JSON, fails the schema, or is misnamed', http: 400 },
  BOARD_UNKNOWN: { code: 'ERR_BOARD_UNKNOWN', message: 'the configured board has no profile', http: 400 },
  BOARD_PIN_UNKNOWN: { code: 'ERR_BOARD_PIN_UNKNOWN', message: 'a pin spec names no pin, line name or chip line of the board', http: 400 },
  BOARD_PIN_NOT_GPIO: { code: 'ERR_BOARD_PIN_NOT_GPIO', message: 'the header pin is not a GPIO line', http: 400 },
  BOARD_GPIOCHIP_NOT_FOUND: { code: 'ERR_BOARD_GPIOCHIP_NOT_FOUND', message: "the profile's gpiochip label is not under /sys/class/gpio", http: 500 },
  BOARD_BUS_UNKNOWN: { code: 'ERR_BOARD_BUS_UNKNOWN', message: 'an I²C bus or serial port name the board does not have', http: 400 },
});

export type ErrorName = keyof typeof ERRORS;
type Codes = { readonly [K in ErrorName]: (typeof ERRORS)[K]['code'] };

/** Name -> code (`ErrorCode.AGENT_NOT_FOUND === 'ERR_AGENT_NOT_FOUND'`): what code raises and compares. */
export const ErrorCode = Object.freeze(Object.fromEntries(Object.entries(ERRORS).map(([name, spec]) => [name, spec.code]))) as Codes;

export type ErrorCodeName = Codes[ErrorName];

const byCode = new Map<string, ErrorSpec>(Object.values(ERRORS).map((spec: ErrorSpec) => [spec.code, spec]));

/** The registry's entry for a code, or undefined for one it does not declare (another program's code). */
export function errorSpec(code: string): ErrorSpec | undefined {
  return byCode.get(code);
}

/** The default message of a code with its `{name}` marks filled from `values` (unknown codes: the code itself). */
export function errorMessage(code: string, values: Readonly<Record<string, string | number>> = {}): string {
  const template = byCode.get(code)?.message ?? code;
  return template.replace(/\{(\w+)\}/g, (mark, name: string) => (Object.hasOwn(values, name) ? String(values[name]) : mark));
}

/** HTTP status for a code; 500 for one the registry does not declare. */
export function httpStatusOf(code: string): number {
  return byCode.get(code)?.http ?? 500;
}

/** JSON-RPC `error.code` for a code the control socket refuses a request with; -32000 unless the registry says. */
export function jsonRpcCodeOf(code: string): number {
  return byCode.get(code)?.rpc ?? JsonRpcCode.APPLICATION_ERROR;
}

/** `openstarry`'s exit code for a command that failed with this code: 1 unless the registry says. */
export function exitCodeOf(code: string): 1 | 2 | 3 {
  return byCode.get(code)?.exit ?? 1;
}

/** Whether the same call may succeed if simply made again (nothing was done). */
export function isRetryable(code: string): boolean {
  return byCode.get(code)?.retryable === true;
}
