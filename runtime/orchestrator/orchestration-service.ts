/**
 * Everything the orchestrator needs, composed for the daemon in one call (docs/ARCHITECTURE.md "Orchestration"): the rules, the engine with its daemon executor, the event sources, the agents' events services, the state
 * projection and the dashboard's data. The daemon injects its supervisor, template store, HAL and MQTT link and calls:
 *   serveAgent(blueprint, pid, channel)   from the supervisor's attach hook (ctx.events for that isolate)
 *   detachAgent(pid)                      from the detach hook
 *   onAgentChange(status)                 from the supervisor's onChange (agent:<id>:started|exited|crashed)
 *   emit(event)                           for MQTT `event/<name>` (source 'mqtt') and `openstarry emit` ('cli')
 *   replaceRules(rules)                   a reload (SIGHUP): the new, already validated rules and their sources
 *   stats() / projection / dashboardSources()   for `status` and the dashboard
 *   close()                               at shutdown, before the supervisor stops the agents
 */
import type { Clock } from '../clock.ts';
import { systemClock } from '../clock.ts';
import type { IAgentStatus } from '../supervisor/agent-status.ts';
import type { DaemonChannel } from '../core/channel-methods.ts';
import type { HalInputEdge } from '../core/hal-api.ts';
import type { JsonValue } from '../core/plugin.ts';
import { serveAgentEvents } from './agent-events-service.ts';
import type { Blueprint } from '../design/blueprint.ts';
import type { Logger } from '../logging/logger.ts';
import type { OrchestrationConfig } from './config.ts';
import type { DashboardSources } from '../dashboard/dashboard-server.ts';
import { AgentEventsRegistry, createDaemonExecutor } from './daemon-executor.ts';
import type { EmitResult, OrchestratorEvent } from './orchestrator.ts';
import { Orchestrator } from './orchestrator.ts';
import type { OrchestratorStats } from './orchestrator-stats.ts';
import type { RuleSet } from './rules-schema.ts';
import type { AgentOps } from '../supervisor/agent-ops.ts';
import type { RuleSources } from './sources/rule-sources.ts';
import { startRuleSources } from './sources/rule-sources.ts';
import { StateProjection } from './state-projection.ts';
import type { ProjectionPublisher } from './state-projection.ts';

/** What the MQTT link offers (topics relative to its prefix `openstarry/<deviceId>/`). */
export type OrchestrationLink = ProjectionPublisher;

export interface OrchestrationDeps {
  deviceId: string;
  config: OrchestrationConfig;
  /** config.rules resolved against the config file's folder; undefined: no rules (events still reach subscribers). */
  rulesPath?: string;
  log: Logger;
  clock?: Clock;
  /** Spawn, kill, list and the design layer's fresh template (TemplateStore.fresh), as ctx.agents has them. */
  agents: AgentOps;
  /** The channel request `agent.snapshot` to that pid's isolate. */
  snapshot(pid: string): Promise<unknown>;
  hal?: {
    watch?(deviceId: string, listener: (edge: HalInputEdge) => void): () => void;
    inputDevices?(): string[];
    read?(device: string, quantity: string): Promise<number>;
  };
  /** Absent while there is no MQTT link: nothing goes out, the rest works. */
  link?: OrchestrationLink;
}

export interface Orchestration {
  readonly orchestrator: Orchestrator;
  readonly registry: AgentEventsRegistry;
  readonly projection: StateProjection;
  readonly sources: RuleSources;
  /** The rules in force (the boot's, or the last reload's). */
  readonly rules: RuleSet;
  emit(event: OrchestratorEvent): EmitResult;
  serveAgent(blueprint: Blueprint, pid: string, channel: DaemonChannel): void;
  detachAgent(pid: string): void;
  onAgentChange(status: IAgentStatus): void;
  /**
   * Swaps in a validated rule set (a reload): the old set's timers, GPIO watches and sensor polls stop, the new set's
   * start; spawns already queued or running finish; per-rule counters start afresh (orchestrator.setRules).
   */
  replaceRules(rules: RuleSet): void;
  stats(): OrchestratorStats;
  dashboardSources(): DashboardSources;
  close(): Promise<void>;
}

export function emptyRuleSet(file = '(no rules file)'): RuleSet {
  return { file, rules: [], timers: [], sensors: [], gpioDevices: [], gpioAllInputs: false };
}

/** Loads the rules (ERR_RULES_INVALID fails the boot phase, naming file, rule and field) and starts everything. */
export async function startOrchestration(deps: OrchestrationDeps): Promise<Orchestration> {
  // The loader (and with it the YAML parser and the CEL engine) is loaded only when there is a rules file: a board
  // without one does not hold them (issue 12, README "Performance").
  const rules = deps.rulesPath === undefined ? emptyRuleSet() : await (await import('./rules-loader.ts')).loadRulesFile(deps.rulesPath);
  const clock = deps.clock ?? systemClock;
  const log = deps.log;
  const registry = new AgentEventsRegistry();
  const out = (name: string, data: JsonValue) => {
    try {
      deps.link?.publish(`out/${name}`, data, { retain: false });
    } catch (err) {
      log.warn(`out/${name} not published: ${(err as Error).message}`);
    }
  };
  const orchestrator = new Orchestrator({
    rules,
    clock,
    log: log.child('rules'),
    maxConcurrentSpawns: deps.config.maxConcurrentSpawns,
    maxPending: deps.config.maxPending,
    maxEventsPerSecond: deps.config.maxEventsPerSecond,
    burst: deps.config.burst,
    executor: createDaemonExecutor({ registry, ...deps.agents, publishOut: out }),
  });
  const emit = (event: OrchestratorEvent) => orchestrator.emit(event);
  const startSources = (set: RuleSet) => startRuleSources(set, { emit, clock, log: log.child('sources'), ...deps.hal });
  let current = rules;
  let sources = startSources(rules);
  // One lifecycle tracker for the whole run: a fresh one after a reload would announce every running agent again.
  const { lifecycle } = sources;
  const projection = new StateProjection({
    deviceId: deps.deviceId,
    listAgents: () => deps.agents.list(),
    snapshot: (pid) => deps.snapshot(pid),
    ...(deps.link ? { publisher: deps.link } : {}),
    clock,
    log: log.child('projection'),
    intervalMs: deps.config.projectionIntervalMs,
    snapshotTimeoutMs: deps.config.snapshotTimeoutMs,
  });
  projection.start();
  const describe = (set: RuleSet) =>
    `${set.rules.length} rule(s) from ${set.file}, ${set.timers.length} timer(s), ${set.sensors.length} sensor reading(s), ${set.gpioDevices.length} gpio input(s)`;
  log.info(`orchestration: ${describe(rules)}`);
  let closing: Promise<void> | undefined;

  return {
    orchestrator,
    registry,
    projection,
    get sources() {
      return sources;
    },
    get rules() {
      return current;
    },
    emit,
    serveAgent(blueprint, pid, channel) {
      registry.add(
        serveAgentEvents(blueprint, pid, channel, {
          publish: (agentId, name, data) => {
            orchestrator.emit({ name, data, source: `agent:${agentId}` });
            out(name, data);
          },
          log: log.child('events'),
          clock,
        }),
      );
    },
    detachAgent: (pid) => registry.remove(pid),
    onAgentChange: (status) => lifecycle.observe(status),
    replaceRules(next) {
      if (closing) return;
      sources.stop();
      orchestrator.setRules(next);
      current = next;
      sources = startSources(next);
      log.info(`orchestration reloaded: ${describe(next)}`);
    },
    stats: () => orchestrator.stats(),
    dashboardSources: () => ({
      state: () => projection.view(),
      agents: () => deps.agents.list(),
      telemetry: () => projection.telemetry(),
      rules: () => orchestrator.stats(),
    }),
    close() {
      closing ??= (async () => {
        sources.stop();
        await projection.close();
        await orchestrator.close();
      })();
      return closing;
    },
  };
}
