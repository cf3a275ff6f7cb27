/**
 * State projection (spec 000 §3.2): every `intervalMs` the orchestrator pulls each live agent's IInternalBus
 * snapshot (its retained topics; the daemon answers `snapshot(pid)` with the channel request `agent.snapshot`) and
 * its resource use (`listAgents()`, IAgentStatus) into one global view:
 *   { deviceId, at, agents: { [agentId]: { pid, state, template, snapshot, cpuPercent, memoryBytes, tokensUsed, ... } } }
 * and publishes, through an injected publisher (the MQTT link, README "MQTT, remote triggers and rules"):
 *   `state`            retained, the global view, every tick;
 *   `state/<agentId>`  retained, only when that agent's entry (pid, state, template, snapshot) changed; an empty
 *                      retained message (clearRetained) once the agent is gone, so brokers forget it;
 *   `telemetry`        not retained, resource use per agent and totals, every tick.
 * A slow or dead agent does not stall the projection: each snapshot has its own timeout, after which the agent's
 * last snapshot is kept and marked with `snapshotError`. Ticks never overlap (the next is scheduled after one ends).
 */
import type { Clock } from '../clock.ts';
import { systemClock } from '../clock.ts';
import type { IAgentStatus } from '../supervisor/agent-status.ts';
import type { JsonValue } from '../core/plugin.ts';
import type { Logger } from '../logging/logger.ts';
import { silentLogger } from '../logging/logger.ts';

export interface ProjectionPublisher {
  publish(topic: string, payload: JsonValue, options: { retain: boolean }): void;
  /** An empty retained message: the broker drops what it kept for the topic. */
  clearRetained(topic: string): void;
}

export interface AgentView {
  pid: string;
  state: IAgentStatus['state'];
  template: string;
  isolation: string;
  startedAt: string;
  restarts: number;
  /** The agent's bus snapshot (retained topics), the last one obtained, or null before the first. */
  snapshot: JsonValue;
  /** Why the snapshot is not fresh (timeout, error, too large), when it is not. */
  snapshotError?: string;
  cpuPercent: number;
  memoryBytes: number;
  tokensUsed: number;
}

export interface GlobalView {
  deviceId: string;
  at: string;
  agents: Record<string, AgentView>;
}

export interface Telemetry {
  deviceId: string;
  at: string;
  agents: Record<string, { pid: string; cpuPercent: number; memoryBytes: number; tokensUsed: number }>;
  totals: { agents: number; cpuPercent: number; memoryBytes: number; tokensUsed: number };
}

export interface StateProjectionOptions {
  deviceId: string;
  listAgents(): IAgentStatus[] | Promise<IAgentStatus[]>;
  snapshot(pid: string): Promise<unknown>;
  publisher?: ProjectionPublisher;
  clock?: Clock;
  log?: Logger;
  intervalMs?: number;
  snapshotTimeoutMs?: number;
}

/** Largest snapshot kept per agent (serialised); larger ones are replaced by a note saying so. */
export const SNAPSHOT_MAX_CHARS = 64 * 1024;
const LIVE = new Set<IAgentStatus['state']>(['starting', 'running', 'stopping', 'restarting']);

export class StateProjection {
  readonly #o: Required<Omit<StateProjectionOptions, 'publisher'>> & { publisher: ProjectionPublisher | undefined };
  #view: GlobalView | undefined;
  #telemetry: Telemetry | undefined;
  /** What `state` last carried (its agents' entries, without usage or time). */
  #publishedGlobal: string | undefined;
  /** Per agent id: the JSON of what `state/<id>` last carried. */
  readonly #published = new Map<string, string>();
  #timer: unknown;
  #ticking: Promise<GlobalView> | undefined;
  #closed = false;
  #started = false;
  #ticks = 0;

  constructor(options: StateProjectionOptions) {
    this.#o = {
      deviceId: options.deviceId,
      listAgents: options.listAgents,
      snapshot: options.snapshot,
      publisher: options.publisher,
      clock: options.clock ?? systemClock,
      log: options.log ?? silentLogger,
      intervalMs: options.intervalMs ?? 10_000,
      snapshotTimeoutMs: options.snapshotTimeoutMs ?? 2000,
    };
  }

  /** Projects now, then every intervalMs. Idempotent. */
  start(): void {
    if (this.#closed || this.#started) return;
    this.#started = true;
    void this.#loop();
  }

  async #loop(): Promise<void> {
    this.#timer = undefined;
    if (this.#closed) return;
    try {
      await this.tick();
    } catch (err) {
      this.#o.log.warn(`state projection failed: ${(err as Error).message}`);
    }
    if (!this.#closed) this.#timer = this.#o.clock.setTimeout(() => void this.#loop(), this.#o.intervalMs);
  }

  /** One projection (shared if one is already running). */
  tick(): Promise<GlobalView> {
    this.#ticking ??= this.#project().finally(() => {
      this.#ticking = undefined;
    });
    return this.#ticking;
  }

  async #project(): Promise<GlobalView> {
    const statuses = await this.#o.listAgents();
    const live = new Map<string, IAgentStatus>();
    for (const s of statuses) if (LIVE.has(s.state)) live.set(s.agentId, s);
    const previous = this.#view?.agents ?? {};
    const entries = await Promise.all([...live.values()].map(async (s) => [s.agentId, await this.#agentView(s, previous[s.agentId])] as const));
    const at = new Date(this.#o.clock.now()).toISOString();
    const view: GlobalView = { deviceId: this.#o.deviceId, at, agents: Object.fromEntries(entries) };
    const telemetry: Telemetry = { deviceId: this.#o.deviceId, at, agents: {}, totals: { agents: entries.length, cpuPercent: 0, memoryBytes: 0, tokensUsed: 0 } };
    for (const [id, a] of entries) {
      telemetry.agents[id] = { pid: a.pid, cpuPercent: a.cpuPercent, memoryBytes: a.memoryBytes, tokensUsed: a.tokensUsed };
      telemetry.totals.cpuPercent += a.cpuPercent;
      telemetry.totals.memoryBytes += a.memoryBytes;
      telemetry.totals.tokensUsed += a.tokensUsed;
    }
    if (this.#closed) return view;
    this.#view = view;
    this.#telemetry = telemetry;
    this.#ticks += 1;
    this.#publish(view, telemetry);
    return view;
  }

  async #agentView(s: IAgentStatus, before: AgentView | undefined): Promise<AgentView> {
    const samePid = before?.pid === s.pid;
    const view: AgentView = {
      pid: s.pid,
      state: s.state,
      template: s.template,
      isolation: s.isolation,
      startedAt: s.startedAt,
      restarts: s.restarts,
      snapshot: samePid ? before.snapshot : null,
      cpuPercent: s.cpuPercent,
      memoryBytes: s.memoryBytes,
      tokensUsed: s.tokensUsed,
    };
    if (s.state !== 'running') {
      if (samePid && before.snapshotError !== undefined) view.snapshotError = before.snapshotError;
      return view;
    }
    let timer: unknown;
    try {
      const raw = await Promise.race([
        this.#o.snapshot(s.pid),
        new Promise<never>((_, reject) => {
          timer = this.#o.clock.setTimeout(() => reject(new Error(`no snapshot within ${this.#o.snapshotTimeoutMs} ms`)), this.#o.snapshotTimeoutMs);
        }),
      ]);
      const text = JSON.stringify(raw ?? null) ?? 'null';
      if (text.length > SNAPSHOT_MAX_CHARS) {
        view.snapshot = { truncated: true, chars: text.length };
        view.snapshotError = `snapshot is ${text.length} characters, more than ${SNAPSHOT_MAX_CHARS}`;
      } else {
        view.snapshot = JSON.parse(text) as JsonValue;
      }
    } catch (err) {
      view.snapshotError = (err as Error).message;
    } finally {
      if (timer !== undefined) this.#o.clock.clearTimeout(timer);
    }
    return view;
  }

  #publish(view: GlobalView, telemetry: Telemetry): void {
    const publisher = this.#o.publisher;
    if (!publisher) return;
    try {
      // `state` only when some agent's entry changed, like `state/<id>`: a retained QoS 1 message is appended to the
      // link's queue file, and a view republished every tick for its usage figures alone would rewrite the SD card
      // for nothing (usage goes out as `telemetry`, QoS 0, which touches no disk).
      const entries = Object.entries(view.agents).map(([id, a]) => [id, JSON.stringify({ pid: a.pid, state: a.state, template: a.template, snapshot: a.snapshot })] as const);
      const globalKey = JSON.stringify(entries);
      if (globalKey !== this.#publishedGlobal) {
        this.#publishedGlobal = globalKey;
        publisher.publish('state', view as unknown as JsonValue, { retain: true });
      }
      for (const [id, key] of entries) {
        const a = view.agents[id] as AgentView;
        if (this.#published.get(id) === key) continue;
        this.#published.set(id, key);
        publisher.publish(`state/${id}`, a as unknown as JsonValue, { retain: true });
      }
      for (const id of [...this.#published.keys()]) {
        if (Object.hasOwn(view.agents, id)) continue;
        this.#published.delete(id);
        publisher.clearRetained(`state/${id}`);
      }
      publisher.publish('telemetry', telemetry as unknown as JsonValue, { retain: false });
    } catch (err) {
      this.#o.log.warn(`state projection not published: ${(err as Error).message}`);
    }
  }

  /** The last global view (undefined before the first projection). */
  view(): GlobalView | undefined {
    return this.#view === undefined ? undefined : structuredClone(this.#view);
  }

  telemetry(): Telemetry | undefined {
    return this.#telemetry === undefined ? undefined : structuredClone(this.#telemetry);
  }

  get ticks(): number {
    return this.#ticks;
  }

  /** Stops the schedule; a projection in progress finishes without publishing. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#ticking?.catch(() => undefined);
  }
}
