/**
 * What the page shows (issue 15 "The page"), assembled from the daemon's own reads and pushed over the SSE hub:
 *   `snapshot`  board and health (the `openstarry status` document), agents, devices, rules, the MQTT link and
 *               the last events; to a new client at once (with every sensor's 10-minute history), then to all
 *               every `pushMs` while at least one page is open;
 *   `sample`    each sensor sample as the daemon's sampler takes it (hal/sensor-sampler.ts).
 * Nothing runs while no page is open: the timer and the sample subscription exist only while the hub has clients.
 * "Last events" are the changes the feed sees between two snapshots (an agent's state, a rule firing, the link
 * going up or down, a degraded flag) plus the dashboard's own actions, in a bounded ring.
 */
import type { Clock } from '../clock.ts';
import { every } from '../clock.ts';
import type { Repeating } from '../clock.ts';
import type { DeviceListEntry } from '../../hal/device-list.ts';
import type { IAgentStatus } from '../supervisor/agent-status.ts';
import type { SseHub } from './dashboard-stream.ts';
import { frame } from './dashboard-stream.ts';

/** The sampler as the dashboard uses it (hal/sensor-sampler.ts). */
export interface SampleFeed {
  history(): Record<string, Record<string, { at: number[]; values: number[] }>>;
  onSample(fn: (s: { deviceId: string; values: Record<string, number>; at: number }) => void): () => void;
  /** Its counters, shown in `status` beside the dashboard's. */
  stats(): object;
}

/**
 * What the daemon lends the dashboard (wired by runtime/daemon/, which the dashboard must not import). Reads may
 * throw ERR_NOT_READY during the boot; the feed then leaves that part out.
 */
export interface DashboardDaemon {
  /** `openstarry status --json`. */
  status(): Record<string, unknown>;
  agents(): IAgentStatus[];
  devices(): DeviceListEntry[];
  /** Valid template ids, for the page's spawn menu. */
  templates(): string[];
  spawn(template: string): Promise<IAgentStatus>;
  kill(pid: string): Promise<IAgentStatus>;
  /** HalService.operatorControl(deviceId, command, 'dashboard'): the HAL's envelope, rate limit and ownership. */
  control(deviceId: string, command: string | number | boolean): Promise<void>;
  /** The sensor sampler, once the HAL is open. */
  samples(): SampleFeed | undefined;
}

export interface FeedEvent {
  at: string;
  kind: 'agent' | 'rule' | 'link' | 'health' | 'action';
  text: string;
}

export const MAX_EVENTS = 50;

export class DashboardFeed {
  readonly #daemon: DashboardDaemon;
  readonly #rules: () => unknown;
  readonly #hub: SseHub;
  readonly #clock: Clock;
  readonly #pushMs: number;
  /** Whether actions work now: a token read at start or by a later reload (DashboardServer.reloadToken). */
  readonly #canAct: () => boolean;
  readonly #events: FeedEvent[] = [];
  #timer: Repeating | undefined;
  #unsubscribe: (() => void) | undefined;
  #seen: { agents: Map<string, string>; fired: Map<string, number>; link: string | undefined; degraded: Set<string> } | undefined;

  constructor(o: { daemon: DashboardDaemon; rules: () => unknown; hub: SseHub; clock: Clock; pushMs?: number; canAct: () => boolean }) {
    this.#daemon = o.daemon;
    this.#rules = o.rules;
    this.#hub = o.hub;
    this.#clock = o.clock;
    this.#pushMs = o.pushMs ?? 2000;
    this.#canAct = o.canAct;
    this.#hub.onActive = (active) => (active ? this.#wake() : this.#sleep());
  }

  /** The first frame a new client gets: a snapshot with the sensors' history. */
  async firstFrame(): Promise<string> {
    return frame('snapshot', { ...(await this.snapshot()), history: this.#daemon.samples()?.history() ?? {} });
  }

  /** Records one of the dashboard's own actions among the last events and pushes a fresh snapshot. */
  note(kind: FeedEvent['kind'], text: string): void {
    this.#push(kind, text);
    void this.#tick();
  }

  async snapshot(): Promise<Record<string, unknown>> {
    const status = tryRead(() => this.#daemon.status());
    const agents = tryRead(() => this.#daemon.agents()) ?? [];
    const devices = tryRead(() => this.#daemon.devices()) ?? [];
    const rules = await Promise.resolve(tryRead(this.#rules)).catch(() => undefined);
    this.#diff(status, agents, rules);
    return {
      at: new Date(this.#clock.now()).toISOString(),
      canAct: this.#canAct(),
      ...(status ? { status } : {}),
      agents,
      devices,
      ...(rules ? { rules } : {}),
      templates: this.#canAct() ? (tryRead(() => this.#daemon.templates()) ?? []) : [],
      events: [...this.#events].reverse(),
    };
  }

  close(): void {
    this.#sleep();
  }

  #wake(): void {
    this.#timer ??= every(this.#clock, this.#pushMs, () => void this.#tick(), { unref: true });
  }

  #sleep(): void {
    this.#timer?.stop();
    this.#timer = undefined;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  }

  async #tick(): Promise<void> {
    if (this.#hub.size === 0) return;
    // The sampler appears once the HAL is open, after the dashboard started: subscribe as soon as it is there.
    if (!this.#unsubscribe) {
      const feed = this.#daemon.samples();
      if (feed) this.#unsubscribe = feed.onSample((s) => this.#hub.broadcast('sample', s));
    }
    this.#hub.broadcast('snapshot', await this.snapshot());
  }

  #push(kind: FeedEvent['kind'], text: string): void {
    this.#events.push({ at: new Date(this.#clock.now()).toISOString(), kind, text });
    if (this.#events.length > MAX_EVENTS) this.#events.shift();
  }

  #diff(status: Record<string, unknown> | undefined, agents: IAgentStatus[], rules: unknown): void {
    const now = {
      agents: new Map(agents.map((a) => [a.pid, a.state])),
      fired: new Map(ruleRows(rules).map((r) => [r.label, r.fired])),
      link: typeof (status?.link as { state?: unknown } | undefined)?.state === 'string' ? (status!.link as { state: string }).state : undefined,
      degraded: new Set(Array.isArray(status?.degraded) ? (status.degraded as string[]) : []),
    };
    const before = this.#seen;
    this.#seen = now;
    if (!before) return;
    for (const a of agents) {
      const was = before.agents.get(a.pid);
      if (was !== a.state) this.#push('agent', `${a.agentId} (${a.pid}) ${was ? `${was} -> ` : ''}${a.state}${a.reason && a.state !== 'running' ? `: ${a.reason}` : ''}`);
    }
    for (const [label, fired] of now.fired) {
      const was = before.fired.get(label) ?? 0;
      if (fired > was) this.#push('rule', `rule ${label} fired${fired - was > 1 ? ` ${fired - was} times` : ''}`);
    }
    if (now.link !== before.link && now.link !== undefined) this.#push('link', `MQTT link ${now.link}`);
    for (const flag of now.degraded) if (!before.degraded.has(flag)) this.#push('health', `degraded: ${flag}`);
    for (const flag of before.degraded) if (!now.degraded.has(flag)) this.#push('health', `no longer degraded: ${flag}`);
  }
}

function tryRead<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

function ruleRows(rules: unknown): { label: string; fired: number }[] {
  const rows = (rules as { perRule?: unknown } | undefined)?.perRule;
  if (!Array.isArray(rows)) return [];
  return rows.filter((r): r is { label: string; fired: number } => typeof r?.label === 'string' && typeof r?.fired === 'number');
}
