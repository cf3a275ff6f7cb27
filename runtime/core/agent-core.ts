/**
 * AgentCore: the pure logic container of spec 002 §3 ("host bootstrapping pattern"). The host reads the
 * manifest and loads plugin code; the core receives the already-loaded plugins, starts them in manifest order,
 * and stops them in reverse. It imports nothing from node:* (enforced by eslint.config.js), so the same core
 * runs in a worker thread, a child process, a container and QuickJS-in-WASM.
 */
import { cutMarker, messageSizeOver } from './message-size.ts';
import { createAgentEvents } from './agent-events.ts';
import type { IsolateChannel } from './channel-methods.ts';
import type { LogNote } from './channel-messages.ts';
import type { IHAL } from './hal-api.ts';
import { ErrorCode, OpenStarryError, errorToWire } from './errors.ts';
import { InternalBus } from './internal-bus.ts';
import { TokenBucket } from './token-bucket.ts';
import type { CoreTimers } from './metering.ts';
import { Metering } from './metering.ts';
import type { IAgentContext, IAgentLog, IAgentState, IPlugin, JsonValue, LogLevel } from './plugin.ts';

/** A health reason longer than this is cut: it ends up in one line of `openstarry deploy`. */
const MAX_HEALTH_REASON = 200;

export interface AgentCoreOptions {
  agentId: string;
  config: Readonly<Record<string, JsonValue>>;
  plugins: readonly IPlugin[];
  channel: IsolateChannel;
  /** Built by the host over the same channel (hal/hal-proxy.ts); the core only hands it to plugins. */
  hal: IHAL;
  /** The snapshot the host loaded from the daemon before start (spec 002 phase 3), if there is one. */
  initialState?: JsonValue;
  /** Timers for coalescing ctx.metering reports (default: the global setTimeout); tests pass a manual clock. */
  timers?: CoreTimers;
}

type CoreState = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped';

/** Log lines per second an agent may send (burst LOG_BURST), and the longest message kept. */
export const LOG_PER_SECOND = 200;
export const LOG_BURST = 1000;
export const LOG_MAX_CHARS = 8 * 1024;
/** Log fields larger than this (measured roughly, core/message-size.ts) are replaced by a note of their size. */
export const LOG_MAX_FIELDS_BYTES = 8 * 1024;
/** Largest snapshot (serialised), matching the state DB's cap. */
export const STATE_MAX_CHARS = 256 * 1024;

export class AgentCore {
  readonly #plugins: readonly IPlugin[];
  readonly #channel: IsolateChannel;
  readonly #abort = new AbortController();
  readonly #bus: InternalBus;
  readonly #closeEvents: () => void;
  readonly #ctx: IAgentContext;
  readonly #metering: Metering;
  #started: IPlugin[] = [];
  #state: CoreState = 'idle';
  #stopping: Promise<void> | undefined;
  #starting: Promise<void> | undefined;

  constructor(options: AgentCoreOptions) {
    this.#plugins = options.plugins;
    this.#channel = options.channel;
    const log = this.#makeLog();
    this.#bus = new InternalBus((err, topic) => log.error(`bus handler for ${topic} threw: ${errorToWire(err).message}`));
    const events = createAgentEvents(this.#channel, log);
    this.#closeEvents = events.close;
    this.#metering = new Metering(this.#channel, options.timers);
    this.#ctx = Object.freeze({
      agentId: options.agentId,
      config: options.config,
      bus: this.#bus,
      log,
      signal: this.#abort.signal,
      metering: this.#metering.api,
      hal: options.hal,
      state: this.#makeState(options.initialState),
      agents: Object.freeze({
        spawn: (templateId: string, config?: Record<string, JsonValue>) => this.#channel.request('agents.spawn', config === undefined ? { templateId } : { templateId, config }),
        kill: (pid: string) => this.#channel.request('agents.kill', { pid }),
        list: () => this.#channel.request('agents.list'),
      }),
      events: events.events,
      health: (ok: boolean, reason?: string) => this.#channel.notify('agent.health', reason === undefined ? { ok: ok === true } : { ok: ok === true, reason: String(reason).slice(0, MAX_HEALTH_REASON) }),
    });
    this.#channel.handle('agent.stop', () => this.stop());
    this.#channel.handle('agent.snapshot', () => this.#bus.snapshot());
  }

  get state(): CoreState {
    return this.#state;
  }

  get context(): IAgentContext {
    return this.#ctx;
  }

  /**
   * Starts every plugin in manifest order. If one throws, the ones already started are stopped in reverse and
   * the error is rethrown as ERR_PLUGIN_START_FAILED naming the plugin (the daemon records it as the crash reason).
   */
  async start(): Promise<void> {
    if (this.#state !== 'idle') throw new OpenStarryError(ErrorCode.INTERNAL, `AgentCore.start called in state ${this.#state}`);
    this.#state = 'starting';
    this.#starting = this.#startPlugins();
    return this.#starting;
  }

  async #startPlugins(): Promise<void> {
    for (const plugin of this.#plugins) {
      // stop() arrived while an earlier plugin was starting: start nothing more (stop() unwinds what did start).
      if (this.#abort.signal.aborted) return;
      try {
        await plugin.start(this.#ctx);
        this.#started.push(plugin);
      } catch (err) {
        await this.#stopStarted();
        this.#closeEvents();
        this.#metering.close();
        this.#state = 'stopped';
        throw new OpenStarryError(ErrorCode.PLUGIN_START_FAILED, `plugin "${plugin.name}" failed to start: ${errorToWire(err).message}`, { cause: err });
      }
    }
    if (this.#state === 'starting') this.#state = 'running';
  }

  /** Aborts ctx.signal, then calls stop(ctx) of each started plugin in reverse order. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#state = 'stopping';
      this.#abort.abort();
      // A plugin still inside start() is stopped too, once its start settles.
      await this.#starting?.catch(() => undefined);
      await this.#stopStarted();
      // Tokens reported by stop(ctx) included; the host exits right after the stop reply.
      this.#metering.close();
      this.#bus.clear();
      this.#closeEvents();
      this.#state = 'stopped';
    })();
    return this.#stopping;
  }

  async #stopStarted(): Promise<void> {
    const started = this.#started.reverse();
    this.#started = [];
    for (const plugin of started) {
      if (!plugin.stop) continue;
      try {
        await plugin.stop(this.#ctx);
      } catch (err) {
        this.#ctx.log.error(`plugin "${plugin.name}" stop failed: ${errorToWire(err).message}`);
      }
    }
  }

  #makeState(initial: JsonValue | undefined): IAgentState {
    let current = initial === undefined ? undefined : JSON.stringify(initial);
    return Object.freeze({
      get: (): JsonValue | undefined => (current === undefined ? undefined : (JSON.parse(current) as JsonValue)),
      set: (value: JsonValue): void => {
        let text: string | undefined;
        try {
          text = JSON.stringify(value);
        } catch (err) {
          throw new OpenStarryError(ErrorCode.STATE_INVALID, `state.set: not plain JSON: ${(err as Error).message}`);
        }
        if (text === undefined) throw new OpenStarryError(ErrorCode.STATE_INVALID, 'state.set: not plain JSON (undefined, a function or a symbol)');
        if (text.length > STATE_MAX_CHARS) throw new OpenStarryError(ErrorCode.STATE_TOO_LARGE, `state.set: ${text.length} characters, more than ${STATE_MAX_CHARS}`);
        current = text;
        // The daemon validates again (the isolate is untrusted) and coalesces the writes to the state file.
        this.#channel.notify('state.save', JSON.parse(text) as JsonValue);
      },
    });
  }

  #makeLog(): IAgentLog {
    // The same budget the daemon applies, enforced here first so a flood never leaves the isolate.
    const budget = new TokenBucket(LOG_PER_SECOND, LOG_BURST, { now: () => Date.now() });
    let dropped = 0;
    const send = (level: LogLevel) => (message: string, fields?: Record<string, unknown>) => {
      if (!budget.take()) {
        dropped += 1;
        return;
      }
      if (dropped > 0) {
        this.#channel.notify('log', { level: 'warn', message: `${dropped} log lines dropped (more than ${LOG_PER_SECOND}/s)` } satisfies LogNote);
        dropped = 0;
      }
      const text = String(message);
      // Cut here, with a visible marker, so a long line is never more than LOG_MAX_CHARS on the channel (README
      // "Resource limits"); never refused. Fields over LOG_MAX_FIELDS_BYTES are replaced by a note of their size, measured
      // before anything is copied (core/message-size.ts), so a 200 MB field costs neither the isolate nor the daemon.
      const note: LogNote = { level, message: text.length > LOG_MAX_CHARS ? `${text.slice(0, LOG_MAX_CHARS)}${cutMarker(text.length - LOG_MAX_CHARS)}` : text };
      if (fields !== undefined) {
        const big = messageSizeOver(fields, LOG_MAX_FIELDS_BYTES) !== undefined;
        note.fields = big ? { cut: `fields over ${LOG_MAX_FIELDS_BYTES} bytes not sent` } : safeFields(fields);
      }
      this.#channel.notify('log', note);
    };
    return Object.freeze({ debug: send('debug'), info: send('info'), warn: send('warn'), error: send('error') });
  }
}

/** Log fields must survive structured clone; anything that does not is stringified rather than lost. */
function safeFields(fields: Record<string, unknown>): Record<string, unknown> {
  try {
    return structuredClone(fields);
  } catch {
    // Functions and symbols cannot be cloned either (typeof is not 'object'): stringify them too.
    return Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, typeof v === 'object' || typeof v === 'function' || typeof v === 'symbol' ? String(v) : v]));
  }
}
