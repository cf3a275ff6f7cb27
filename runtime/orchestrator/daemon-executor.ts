/**
 * The orchestrator's ActionExecutor as the daemon builds it, so that daemon.ts only injects its supervisor, template
 * store and MQTT link:
 *   - AgentEventsRegistry keeps the events handle (serveAgentEvents) of every attached isolate, for broadcast to
 *     subscribers and targeted delivery (notify, spawn-while-running);
 *   - spawn fetches the template fresh from the design layer (spec 002 phase 4) and spawns it with the triggering
 *     event in the instance's frozen config as `trigger` ({ name, data, source, at }), so the agent finds its
 *     cause in ctx.config.trigger even before it subscribes to anything;
 *   - publish goes out through the link (MQTT `out/<topic>`) when there is one.
 */
import type { IAgentStatus } from '../supervisor/agent-status.ts';
import type { JsonValue } from '../core/plugin.ts';
import type { AgentEventsHandle } from './agent-events-service.ts';
import type { Blueprint } from '../design/blueprint.ts';
import { deepFreeze } from '../design/blueprint.ts';
import type { ActionExecutor, TriggerEvent } from './orchestrator.ts';

export class AgentEventsRegistry {
  readonly #byPid = new Map<string, AgentEventsHandle>();

  /** From the supervisor's attach hook, with the handle serveAgentEvents returned. */
  add(handle: AgentEventsHandle): void {
    this.#byPid.set(handle.pid, handle);
  }

  /** From the detach hook. */
  remove(pid: string): void {
    this.#byPid.delete(pid);
  }

  /** To every agent whose subscribe grants cover the event (never back to its publisher); how many got it. */
  broadcast(event: TriggerEvent): number {
    let sent = 0;
    for (const h of this.#byPid.values()) if (h.deliver(event.name, event.data, event.source)) sent += 1;
    return sent;
  }

  /** To the live agent with that id, whatever its grants (the rule addressed it). */
  deliverTo(agentId: string, event: TriggerEvent): boolean {
    for (const h of this.#byPid.values()) if (h.agentId === agentId) return h.deliver(event.name, event.data, event.source, { targeted: true });
    return false;
  }

  get size(): number {
    return this.#byPid.size;
  }
}

/** The blueprint with `config.trigger` set to the event, frozen again (spec 002: immutable for its lifetime). */
export function withTrigger(blueprint: Blueprint, event: TriggerEvent): Blueprint {
  const trigger: JsonValue = { name: event.name, data: event.data, source: event.source, at: event.at };
  return deepFreeze({ ...blueprint, manifest: { ...blueprint.manifest, config: { ...blueprint.manifest.config, trigger } } });
}

export interface DaemonExecutorDeps {
  registry: AgentEventsRegistry;
  /** supervisor.findLive(agentId) !== undefined */
  isLive(agentId: string): boolean;
  /** The template as the design layer has it now (store.fresh). */
  template(templateId: string): Promise<Blueprint>;
  spawn(blueprint: Blueprint, templateId: string): Promise<IAgentStatus>;
  /** supervisor.kill(agentId, 'SIGTERM') — the supervisor accepts an agent id for a live instance. */
  kill(agentId: string): Promise<IAgentStatus>;
  /** The MQTT link's `out/<topic>`; absent while there is no link. */
  publishOut?(topic: string, data: JsonValue): void;
}

export function createDaemonExecutor(deps: DaemonExecutorDeps): ActionExecutor {
  return {
    isRunning: (agentId) => deps.isLive(agentId),
    spawn: async (templateId, event) => {
      const status = await deps.spawn(withTrigger(await deps.template(templateId), event), templateId);
      // An agent that ran and finished at once (a one-shot worker) succeeded; one that crashed did not.
      if (status.state === 'crashed') throw new Error(`${templateId} crashed at start: ${status.reason ?? 'no reason given'}`);
      return status;
    },
    kill: (agentId) => deps.kill(agentId),
    publish: (topic, data) => deps.publishOut?.(topic, data),
    deliver: (agentId, event) => deps.registry.deliverTo(agentId, event),
    broadcast: (event) => void deps.registry.broadcast(event),
  };
}
