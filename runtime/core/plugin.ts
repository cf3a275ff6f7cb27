/**
 * The agent plugin contract (README "Writing an agent"). A plugin module's default export is `{ name, start(ctx), stop?(ctx) }`.
 *
 * `ctx` carries only what exists today: agentId, config, bus, log, signal, metering, hal, state, agents and events.
 * Members that later parts of the runtime provide are added to this interface when they exist — absent, never
 * stubbed, so an agent can feature-test them.
 */
import type { IHAL } from './hal-api.ts';
import type { IInternalBus } from './internal-bus.ts';
import type { JsonValue } from './json-value.ts';
import type { ManagedAgent } from './channel-methods.ts';

export type { JsonValue } from './json-value.ts';
export type { ManagedAgent } from './channel-methods.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** One delivered event: its name, its JSON data and where it came from (`mqtt`, `cli`, `agent:<id>`, `rule:<n>`, ...). */
export interface AgentEvent {
  name: string;
  data: JsonValue;
  source: string;
}

export type AgentEventHandler = (data: JsonValue, event: AgentEvent) => void | Promise<void>;

export interface IAgentEvents {
  /**
   * Publishes a boundary event. Resolves when the daemon accepted it; rejects with ERR_EVENT_INVALID (bad name,
   * not JSON, larger than 64 KiB), ERR_CAPABILITY_DENIED (no `events:<pattern>:publish` grant covering the name)
   * or ERR_EVENT_RATE_LIMITED.
   */
  publish(name: string, data?: JsonValue): Promise<void>;
  /** `pattern` is an event name or a pattern with `*` (see runtime/core/event-names.ts). Returns unsubscribe. */
  on(pattern: string, handler: AgentEventHandler): () => void;
}

export interface IAgentLog {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export interface IAgentContext {
  /** The manifest's id; also injected as OPENSTARRY_AGENT_ID (spec 000 §2.2). */
  readonly agentId: string;
  /** The manifest's `config`, deep-frozen: the blueprint is immutable for the agent's lifetime (spec 002). */
  readonly config: Readonly<Record<string, JsonValue>>;
  /** In-agent pub/sub between plugins, plus the retained snapshot the daemon pulls for the global view. */
  readonly bus: IInternalBus;
  /** Lines go to the daemon's log and to `openstarry logs <pid>`. */
  readonly log: IAgentLog;
  /** Aborted when the agent is asked to stop (SIGTERM); long-running work should listen to it. */
  readonly signal: AbortSignal;
  /** Token use counted against the manifest's `limits.tokens` (spec 000 §1.1 resource monitoring). */
  readonly metering: IAgentMetering;
  /** The hardware, as far as the manifest's capabilities grant (spec 000 §4). */
  readonly hal: IHAL;
  /**
   * The agent's persisted snapshot (spec 002 phase 3 "restore memory"): hydrated before start() from the state DB,
   * saved by the daemon (coalesced, atomically) after every set() and kept across restarts, daemon restarts and
   * power cuts (up to the last flush, about 2 s).
   */
  readonly state: IAgentState;
  /**
   * AgentManagerTool (spec 002 phase 4): spawn worker agents by template id (the daemon fetches the template from
   * the design layer), kill and list them. Needs `agents:<template>:spawn|kill`, `agents:*:list`.
   */
  readonly agents: IAgentManager;
  /**
   * Boundary events (README "Writing an agent"; README "MQTT, remote triggers and rules"). `publish(name, data)` sends one out — to the orchestrator's rules, to the
   * agents that subscribe to it and to MQTT `out/<name>` — and needs `events:<pattern>:publish` covering the name
   * (else ERR_CAPABILITY_DENIED). `on(pattern, handler)` receives events matching the pattern (`*` allowed) among
   * those the daemon sends this agent: events its `events:<pattern>:subscribe` grants cover, and events a rule
   * addresses to it by `notify(<agent>)` or by `spawn(<agent>)` while it already runs (one live process per id).
   * `on` returns the unsubscribe function and keeps the agent alive while subscribed. Data is plain JSON, at most
   * 64 KiB; names are levels of [A-Za-z0-9_.-] joined by ":" or "/" (`alert:server_down`, `climate/too_hot`).
   * An agent spawned by a rule finds the triggering event in `ctx.config.trigger` ({ name, data, source, at }).
   */
  readonly events: IAgentEvents;
  /**
   * The agent's own health report (README "Deploying updates"): with `"health": true` in its manifest, a deployment
   * of it commits only when the last report within the health window is `ok` (else it is rolled back, with `reason`).
   * The last report also shows in `openstarry ps --json` (`health`). Cheap: one note to the daemon per call.
   */
  health(ok: boolean, reason?: string): void;
}

export interface IAgentManager {
  /** Spawns a template; `config` is merged over the template's config for this instance (its frozen blueprint). */
  spawn(templateId: string, config?: Record<string, JsonValue>): Promise<ManagedAgent>;
  kill(pid: string): Promise<ManagedAgent>;
  list(): Promise<ManagedAgent[]>;
}

/**
 * Token accounting (README "Writing an agent"). Report what the agent spent (e.g. an LLM call's prompt + completion tokens)
 * right after spending it. The daemon adds it to the agent's `tokensUsed` (shown by `ps` and `status`); once the
 * total passes the manifest's `limits.tokens`, the daemon stops the agent as `crashed` with the reason
 * `token-budget: used N of M tokens`. The count is kept across restarts by the restart policy and starts at 0
 * only when the agent is spawned again (`openstarry spawn`), so restarting does not refill the budget.
 *
 * Reports are coalesced in the isolate and reach the daemon within about 100 ms (and when the agent stops); a
 * report made just before a crash may be lost. Enforcement is after the fact: an agent that must not overspend
 * should keep its own count too.
 */
export interface IAgentMetering {
  /**
   * Counts `n` tokens. `n` must be an integer from 0 to 10,000,000; `info` (optional, e.g. `{ model: 'gpt-4o' }`)
   * is a plain JSON object of at most 1 KiB that travels with the count. Throws ERR_METERING_INVALID otherwise.
   */
  tokens(n: number, info?: Record<string, JsonValue>): void;
}

export interface IAgentState {
  /** A copy of the last snapshot, or undefined when there is none yet. */
  get(): JsonValue | undefined;
  /** Replaces the snapshot. Must be plain JSON, at most 256 KiB (ERR_STATE_INVALID / ERR_STATE_TOO_LARGE). */
  set(value: JsonValue): void;
}

export interface IPlugin {
  readonly name: string;
  start(ctx: IAgentContext): void | Promise<void>;
  stop?(ctx: IAgentContext): void | Promise<void>;
}

/** Structural check of a loaded module's default export; returns a reason when it is not a plugin. */
export function pluginShapeProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'default export is not an object';
  const v = value as Record<string, unknown>;
  if (typeof v.name !== 'string' || v.name.length === 0) return 'default export has no string "name"';
  if (typeof v.start !== 'function') return 'default export has no start(ctx) function';
  if (v.stop !== undefined && typeof v.stop !== 'function') return '"stop" is not a function';
  return undefined;
}
