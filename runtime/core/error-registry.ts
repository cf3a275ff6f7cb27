/**
 * The one error registry of openstarryd: every `ERR_…` code the runtime, the HAL, the drivers and the board
 * profiles raise or pass on, with its default message and how it maps outwards — the HTTP status of an HTTP answer
 * (the design layer's service), the JSON-RPC `error.code` of the control socket, the exit code of
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

/** One entry; its code is `ERR_` + its name, so each code is spelled once (search for a code without its prefix). */
type ErrorEntry = Omit<ErrorSpec, 'code'>;
function e(http: number, message: string, more?: Pick<ErrorEntry, 'rpc' | 'exit' | 'retryable'>): ErrorEntry {
  return { http, message, ...more };
}

// Entries are terse on purpose: this module is in the daemon's boot chunk and in every isolate's bundle (issue 12).
const ENTRIES = {
  // Daemon: configuration, templates, agents (spec 002).
  CONFIG_INVALID: e(400, 'the config file is not valid YAML or does not match the schema'),
  MANIFEST_INVALID: e(400, 'an agent manifest is invalid or names missing plugin files'),
  TEMPLATE_INVALID: e(422, 'the template failed validation; it is excluded'),
  TEMPLATE_NOT_FOUND: e(404, 'no valid template with that id'),
  AGENT_EXISTS: e(409, 'an agent with that id already has a live instance'),
  ISOLATION_UNAVAILABLE: e(501, 'this daemon has no such isolation driver'),
  AGENT_NOT_FOUND: e(404, 'no agent with that pid'),
  ISOLATE_DENIED: e(403, 'the isolate refuses this module or host facility'),
  PLUGIN_INVALID: e(400, 'a plugin module could not be loaded or is not a plugin'),
  PLUGIN_START_FAILED: e(500, "a plugin's start() threw or rejected"),
  BOOT_FAILED: e(500, 'the daemon failed to boot'),
  NOT_READY: e(503, 'the daemon is still booting, or is stopping'),
  INFRA_FAILED: e(500, 'an infrastructure plugin failed to start'),
  SD_NOTIFY_FAILED: e(500, 'a notification to systemd could not be sent to NOTIFY_SOCKET'),
  INTERNAL: e(500, 'internal error', { rpc: JsonRpcCode.INTERNAL_ERROR }),
  // Control plane (README "A short tour") and the CLI.
  INVALID_PARAMS: e(400, 'a request had missing or wrongly typed params', { rpc: JsonRpcCode.INVALID_PARAMS }),
  METHOD_NOT_FOUND: e(404, 'unknown method', { rpc: JsonRpcCode.METHOD_NOT_FOUND }),
  INVALID_REQUEST: e(400, 'not a valid JSON-RPC request (not JSON, too large, not an object)', { rpc: JsonRpcCode.INVALID_REQUEST }),
  CONTROL_BUSY: e(503, 'the control socket closed the connection unread; nothing was done', { retryable: true }),
  DAEMON_UNREACHABLE: e(503, "the CLI could not reach the daemon's control socket", { exit: 3 }),
  SOCKET_PERMISSION_DENIED: e(403, "the user is not in the control socket's group", { exit: 3 }),
  USAGE: e(400, 'wrong invocation of openstarry', { exit: 2 }),
  // The isolate channel and how an isolate ends (README "Resource limits").
  CHANNEL_CLOSED: e(503, 'the isolate ended or the channel closed while a request was pending'),
  CHANNEL_PROTOCOL: e(500, 'the agent broke the channel protocol; its container was killed'),
  MESSAGE_TOO_LARGE: e(413, 'a channel message over agents.maxMessageBytes; the agent is stopped'),
  ISOLATE_START: e(500, 'the isolate could not be started'),
  UNCAUGHT: e(500, 'the agent threw an uncaught error'),
  UNKNOWN: e(500, 'the agent crashed with an error that carries no code'),
  WORKER_OUT_OF_MEMORY: e(500, "a worker agent ran out of heap (Node's own code)"),
  PROCESS_OUT_OF_MEMORY: e(500, 'a process agent ran out of heap'),
  CONTAINER_OUT_OF_MEMORY: e(500, 'a docker agent was killed for memory'),
  CONTAINER_LOST: e(500, "the daemon lost track of the agent's container"),
  WASM_OUT_OF_MEMORY: e(500, 'a wasm agent ran out of QuickJS memory'),
  WASM_DEADLINE: e(500, 'a wasm agent ran past its deadline without yielding'),
  ACCESS_DENIED: e(403, "Node's permission model refused the agent (process isolation)"),
  // Agent facilities: state DB, metering, boundary events, orchestration (README "Writing an agent", "MQTT, remote triggers and rules").
  STATE_TOO_LARGE: e(413, "an agent's state snapshot is over the state DB's per-agent cap"),
  STATE_INVALID: e(400, 'a state DB value is not plain JSON or fails its schema'),
  STATE_IO: e(500, 'the state DB could not read or write its file'),
  METERING_INVALID: e(400, 'ctx.metering was given a bad token count or info'),
  DESIGN_LAYER_UNREACHABLE: e(502, 'the remote design layer did not answer, or answered an error'),
  EVENT_INVALID: e(400, 'an event name is not topic-safe, or its data not JSON or over 64 KiB'),
  EVENT_RATE_LIMITED: e(429, 'an agent publishes events faster than the daemon accepts them'),
  RULES_INVALID: e(400, 'the rules file is not valid YAML or does not match the schema'),
  // Deployments on one board (issue 16, README "Deploying updates").
  DEPLOY_REFUSED: e(409, 'the deployment was refused: not a newer version, unknown version, or an unreadable bundle'),
  DEPLOY_BUSY: e(409, 'a deployment of that template is already in flight', { retryable: false }),
  DEPLOY_INTERRUPTED: e(503, 'the daemon stopped during the deployment: neither committed nor failed; its next start rolls it back, as after a power cut'),
  // The design layer's HTTP service (`openstarry design-layer`).
  METHOD_NOT_ALLOWED: e(405, 'the design layer is read-only: GET and HEAD only'),
  NOT_FOUND: e(404, 'no such route'),
  // Signed bundles (README "Deploying updates").
  BUNDLE_INVALID: e(422, 'a bundle is malformed, oversized, tampered with, or holds an invalid template'),
  BUNDLE_UNTRUSTED: e(403, 'a bundle is unsigned, or not signed by a trusted key'),
  BUNDLE_KEY_INVALID: e(400, 'a signing or trusted key file is unreadable, not PEM, or not an ed25519 key'),
  // The MQTT link (README "MQTT, remote triggers and rules").
  LINK_CONFIG: e(400, 'the mqtt config is invalid, or a file it names is unreadable'),
  LINK_TOPIC_INVALID: e(400, 'a topic or topic filter is not valid'),
  LINK_STOPPED: e(503, 'the link is stopped'),
  LINK_OFFLINE: e(503, 'a QoS 0 or direct publish needs a connection and there is none'),
  LINK_NO_RESPONSE_TOPIC: e(400, 'reply() on a message without a response topic or correlation'),
  LINK_QUEUE_IO: e(500, 'the persisted outbound queue could not be read or written'),
  LINK_MESSAGE_TOO_LARGE: e(413, 'a message is larger than the whole outbound queue may hold'),
  LINK_BROKER_LISTEN: e(500, 'the embedded broker could not listen (port in use, no permission)'),
  // Fleet deployments over the broker (issue 16, README "Deploying updates").
  FLEET_DOCUMENT_INVALID: e(400, 'a deployment document is not JSON, too large, or fails its schema'),
  FLEET_BUNDLE_MISMATCH: e(422, "the fetched bundle is not the document's: another sha256, template or version"),
  FLEET_FETCH_FAILED: e(502, 'the bundle server did not answer (unreachable, too slow, a 5xx); tried again with backoff, and at the next reconnect or boot', { retryable: true }),
  FLEET_BROKER_UNREACHABLE: e(503, '`openstarry deploy status` could not connect to the MQTT broker or subscribe its status topics', { exit: 3 }),
  // The HAL (README "On a board").
  CAPABILITY_INVALID: e(400, 'a manifest capability names no device, or one of the wrong kind'),
  CAPABILITY_DENIED: e(403, "a call outside the agent's grants"),
  DEVICE_BUSY: e(409, 'the actuator or port is owned by another live agent'),
  DEVICE_NOT_FOUND: e(404, 'no device with that id'),
  DEVICE_FAILED: e(502, 'the device failed to initialise or its last operation failed'),
  ENVELOPE_VIOLATION: e(400, "a command outside the actuator's envelope"),
  RATE_LIMITED: e(429, "commands to this actuator arrive faster than its rate limit"),
  DEVICE_CONFIG_INVALID: e(400, 'a devices[] entry or a board profile device is invalid'),
  HAL_TOO_MANY_HANDLES: e(429, 'the agent holds as many watches or camera streams as it may'),
  HANDLE_CLOSED: e(410, 'unknown stream, watch or port handle (already closed)'),
  // Drivers: buses and chips (their `cause` keeps the binding's own error).
  DRIVER_OPEN_FAILED: e(502, 'the bus, line or port could not be opened'),
  DRIVER_IO: e(502, 'an I/O operation failed after the bounded retries'),
  DRIVER_BAD_DEVICE: e(502, 'the chip answered, but not as its datasheet says'),
  DRIVER_INVALID_ARGUMENT: e(400, 'arguments outside what the bus or chip accepts'),
  DRIVER_CLOSED: e(410, 'the handle was closed'),
  DRIVER_TIMEOUT: e(504, 'a read did not complete in time'),
  DRIVER_UNAVAILABLE: e(501, 'the real binding cannot run here (no addon or kernel support)'),
  // Board profiles: loading, detection, pin resolution.
  BOARD_PROFILE_INVALID: e(400, 'a board profile is not JSON, fails the schema, or is misnamed'),
  BOARD_UNKNOWN: e(400, 'the configured board has no profile'),
  BOARD_PIN_UNKNOWN: e(400, 'a pin spec names no pin, line name or chip line of the board'),
  BOARD_PIN_NOT_GPIO: e(400, 'the header pin is not a GPIO line'),
  BOARD_GPIOCHIP_NOT_FOUND: e(500, "the profile's gpiochip label is not under /sys/class/gpio"),
  BOARD_BUS_UNKNOWN: e(400, 'an I²C bus or serial port name the board does not have'),
} satisfies Record<string, ErrorEntry>;

export type ErrorName = keyof typeof ENTRIES;
type Codes = { readonly [K in ErrorName]: `ERR_${K}` };

/** Every code's spec, by name, in declaration order. */
export const ERRORS = Object.freeze(Object.fromEntries(Object.entries(ENTRIES).map(([name, entry]) => [name, Object.freeze({ code: `ERR_${name}`, ...entry })]))) as {
  readonly [K in ErrorName]: ErrorSpec & { readonly code: Codes[K] };
};

/** Name -> code (`ErrorCode.AGENT_NOT_FOUND === 'ERR_AGENT_NOT_FOUND'`): what code raises and compares. */
export const ErrorCode = Object.freeze(Object.fromEntries(Object.keys(ENTRIES).map((name) => [name, `ERR_${name}`]))) as Codes;

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
