/**
 * Everything the daemon holds for orchestration (README "MQTT, remote triggers and rules"; docs/ARCHITECTURE.md "Orchestration"), in one place: the live
 * isolates' channels (so ctx.events can be served to agents spawned before the rules phase), the orchestration
 * itself, the MQTT inbound events and remote commands, and the dashboard's data. The daemon forwards its supervisor
 * hooks here, starts it in the `rules` boot phase and closes it first at shutdown.
 *
 * The one entry point of runtime/orchestrator/ for the daemon: start, reloadRules, close, status (and emit, the
 * supervisor hooks attach/detach/onAgentChange, dashboardSources). Below it: orchestration-service.ts composes the
 * engine, orchestration-wiring.ts adapts the HAL registry and the MQTT link, agent-events-service.ts serves
 * ctx.events, daemon-executor.ts runs the rules' actions.
 */
import path from 'node:path';
import type { DeviceRegistry } from '../../hal/device-registry.ts';
import type { Clock } from '../clock.ts';
import type { DaemonApi, DaemonStatus, IAgentStatus } from '../control/protocol.ts';
import type { DaemonChannel } from '../core/channel-methods.ts';
import type { JsonValue } from '../core/plugin.ts';
import type { Blueprint } from '../design/blueprint.ts';
import { ErrorCode, OpenStarryError } from '../errors.ts';
import type { MqttLink } from '../link/mqtt-link.ts';
import { serveRemoteCommands } from '../link/remote-commands.ts';
import type { RemoteCommandCounters } from '../link/remote-commands.ts';
import type { Logger } from '../logging/logger.ts';
import type { OrchestrationConfig } from './config.ts';
import { deferredDashboardSources } from '../dashboard/dashboard-server.ts';
import type { DashboardSources } from '../dashboard/dashboard-server.ts';
import type { Orchestration } from './orchestration-service.ts';
import { startOrchestration } from './orchestration-service.ts';
import type { EmitResult } from './orchestrator.ts';
import type { OrchestratorStats } from './orchestrator-stats.ts';
import type { RuleSet } from './rules-schema.ts';
import type { AgentOps } from '../supervisor/agent-ops.ts';
import type { InboundEventCounters } from './orchestration-wiring.ts';
import { linkPublisher, registryHal, subscribeInboundEvents } from './orchestration-wiring.ts';

export interface HubStartOptions {
  config: OrchestrationConfig;
  /** Folder `config.rules` is relative to (the config file's). */
  baseDir: string;
  deviceId: string;
  commands: readonly string[];
  log: Logger;
  clock: Clock;
  /** Spawn, kill, list (the supervisor) and the design layer's fresh templates: the same ops ctx.agents uses. */
  agents: AgentOps;
  registry: DeviceRegistry;
  /** The running MQTT link, or undefined when there is none. */
  link: () => MqttLink | undefined;
  /** What remote commands call (the daemon's control-plane API). */
  api: DaemonApi;
  /** Told the rules in force at start and after each reload (the daemon sizes its warm spares from them). */
  onRules?: (rules: RuleSet) => void;
}

export class OrchestrationHub {
  /** The dashboard serves these; they are bound once the rules phase ran. */
  readonly dashboardSources = deferredDashboardSources();
  readonly #attached = new Map<string, { blueprint: Blueprint; channel: DaemonChannel }>();
  #orchestration: Orchestration | undefined;
  /** config.rules resolved at boot; a reload reads this file again (a new path needs a restart). */
  #rulesPath: string | undefined;
  #inbound: { counters: InboundEventCounters; close(): void } | undefined;
  #remoteCommands: { counters: RemoteCommandCounters; close(): void } | undefined;
  #closing: Promise<void> | undefined;
  #onRules: ((rules: RuleSet) => void) | undefined;

  /** Supervisor attach hook: ctx.events for this isolate (now, or when the rules phase runs). */
  attach(pid: string, blueprint: Blueprint, channel: DaemonChannel): void {
    this.#attached.set(pid, { blueprint, channel });
    this.#orchestration?.serveAgent(blueprint, pid, channel);
  }

  /** Supervisor detach hook. */
  detach(pid: string): void {
    this.#attached.delete(pid);
    this.#orchestration?.detachAgent(pid);
  }

  /** Supervisor onChange: agent:<id>:started|exited|crashed for the rules. */
  onAgentChange(status: IAgentStatus): void {
    this.#orchestration?.onAgentChange(status);
  }

  /**
   * Loads the rules (ERR_RULES_INVALID fails the phase), starts the projection, serves ctx.events to every live
   * isolate and subscribes the MQTT inbound events and commands.
   */
  async start(o: HubStartOptions): Promise<Orchestration> {
    this.#rulesPath = o.config.rules ? path.resolve(o.baseDir, o.config.rules) : undefined;
    const orchestration = await startOrchestration({
      deviceId: o.deviceId,
      config: o.config,
      ...(this.#rulesPath ? { rulesPath: this.#rulesPath } : {}),
      log: o.log.child('orchestrator'),
      clock: o.clock,
      agents: o.agents,
      snapshot: (pid) => {
        const channel = this.#attached.get(pid)?.channel;
        return channel ? channel.request('agent.snapshot') : Promise.reject(new Error(`no isolate for pid ${pid}`));
      },
      hal: registryHal(o.registry),
      link: linkPublisher(o.link, o.log.child('projection')),
    });
    this.#orchestration = orchestration;
    this.#onRules = o.onRules;
    this.#onRules?.(orchestration.rules);
    for (const [pid, { blueprint, channel }] of this.#attached) orchestration.serveAgent(blueprint, pid, channel);
    for (const a of o.agents.list()) orchestration.onAgentChange(a);
    this.dashboardSources.bind(withLinkQueue(orchestration.dashboardSources(), o.link));
    const link = o.link();
    if (link) {
      this.#inbound = subscribeInboundEvents(link, (e) => orchestration.emit(e), o.log.child('mqtt'));
      this.#remoteCommands = serveRemoteCommands({ link, api: o.api, allow: o.commands, log: o.log.child('mqtt') });
    }
    return orchestration;
  }

  /**
   * A reload: the rules file read and validated again, then swapped in; undefined when no rules file is configured.
   * @throws ERR_RULES_INVALID (every problem as `file: field: reason`) — the running rules stay as they are.
   */
  async reloadRules(): Promise<RuleSet | undefined> {
    const o = this.#orchestration;
    if (!o) throw new OpenStarryError(ErrorCode.NOT_READY, 'orchestration is not running');
    if (this.#rulesPath === undefined) return undefined;
    const { loadRulesFile } = await import('./rules-loader.ts');
    const rules = await loadRulesFile(this.#rulesPath);
    o.replaceRules(rules);
    this.#onRules?.(rules);
    return rules;
  }

  /** The rules file in force (after a reload too); undefined before the rules phase. */
  get rulesFile(): string | undefined {
    return this.#orchestration?.rules.file;
  }

  get ruleCount(): number {
    return this.#orchestration?.rules.rules.length ?? 0;
  }

  /** `openstarry emit` / events.emit. */
  emit(name: string, data: unknown): EmitResult {
    const o = this.#orchestration;
    if (!o) throw new OpenStarryError(ErrorCode.NOT_READY, 'orchestration is not running');
    return o.emit(data === undefined ? { name, source: 'cli' } : { name, data: data as JsonValue, source: 'cli' });
  }

  /** For `status`: the rules engine's counters and the MQTT inbound ones; undefined before the rules phase. */
  status(): DaemonStatus['orchestration'] {
    const o = this.#orchestration;
    if (!o) return undefined;
    return { ...o.stats(), ...(this.#inbound ? { mqttEvents: this.#inbound.counters } : {}), ...(this.#remoteCommands ? { mqttCommands: this.#remoteCommands.counters } : {}) };
  }

  /** The rules engine's counters alone (`/metrics`); undefined before the rules phase. */
  stats(): OrchestratorStats | undefined {
    return this.#orchestration?.stats();
  }

  /** Nothing new comes in (remote commands, MQTT events), the rules stop and drain. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#remoteCommands?.close();
      this.#inbound?.close();
      await this.#orchestration?.close();
      this.dashboardSources.bind(undefined);
    })();
    return this.#closing;
  }
}

/**
 * /api/state is the projection's view plus the MQTT link's state and queue counters (queued, dropped, expired...):
 * what a local dashboard needs to see that messages are waiting or were lost. Only the dashboard's copy: the view
 * published on `state` stays as it was.
 */
export function withLinkQueue(sources: DashboardSources, link: () => MqttLink | undefined): DashboardSources {
  return {
    ...sources,
    state: async () => {
      const view = (await sources.state()) as object | undefined;
      const l = link()?.state();
      return view === undefined || l === undefined ? view : { ...view, link: { state: l.state, queue: l.queue } };
    },
  };
}
