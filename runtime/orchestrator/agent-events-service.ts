/**
 * The daemon's side of ctx.events (README "Writing an agent"; README "MQTT, remote triggers and rules"). One per live agent, next to serveAgentManager and
 * serveAgentState.
 *
 *   `events.publish` {name, data} from the isolate: checked against the agent's `events:<pattern>:publish` grants
 *     (ERR_CAPABILITY_DENIED, logged and counted), validated again (the isolate is untrusted: topic-safe name,
 *     plain JSON, at most 64 KiB), rate limited per agent, then handed to `deps.publish(agentId, name, data)` —
 *     the daemon feeds it to the orchestrator (source `agent:<id>`) and to MQTT `out/<name>`.
 *   `deliver(name, data, source, { targeted })` for the orchestrator: sends the note `events.deliver`
 *     {name, data, source} when the agent holds an `events:<pattern>:subscribe` grant covering the name, or when
 *     the event is addressed to it (`targeted`: a rule's notify(agent), or spawn(agent) while it already runs).
 *     An agent never gets its own publications back through its subscriptions.
 *
 * Grant patterns use "/" for levels (":" separates the capability's parts), and "/" matches ":" too, so
 * `events:alert/*:subscribe` covers `alert:server_down` (runtime/core/event-names.ts).
 */
import { HalErrorCode } from '../../hal/errors.ts';
import { parseCapability } from '../../hal/capability-grammar.ts';
import type { Clock } from '../clock.ts';
import { systemClock } from '../clock.ts';
import type { DaemonChannel } from '../core/channel-methods.ts';
import { ErrorCode, OpenStarryError } from '../core/errors.ts';
import type { EventMatcher } from '../core/event-names.ts';
import { compileEventPattern, eventNameProblem, eventPatternProblem, serialiseEventData } from '../core/event-names.ts';
import type { EventDeliverNote } from '../core/agent-events.ts';
import type { JsonValue } from '../core/plugin.ts';
import type { Blueprint } from '../design/blueprint.ts';
import type { Logger } from '../logging/logger.ts';
import { TokenBucket } from '../core/token-bucket.ts';

export interface AgentEventsDeps {
  /** Called for each accepted publication (already checked and validated; `data` is a fresh JSON copy). */
  publish(agentId: string, name: string, data: JsonValue): void;
  log: Logger;
  clock?: Clock;
  /** Publications per second one agent may make (token bucket; default 50, burst `burst`, default 200). */
  perSecond?: number;
  burst?: number;
}

export interface AgentEventsCounters {
  published: number;
  denied: number;
  invalid: number;
  rateLimited: number;
  delivered: number;
}

export interface AgentEventsHandle {
  readonly agentId: string;
  readonly pid: string;
  /** Sends the event to the agent if its grants (or `targeted`) allow; true when a note was sent. */
  deliver(name: string, data: JsonValue, source: string, options?: { targeted?: boolean }): boolean;
  /** Whether a subscribe grant covers the name (the orchestrator may skip agents for which it is false). */
  subscribes(name: string): boolean;
  counters(): AgentEventsCounters;
}

function grantMatchers(blueprint: Blueprint, operation: 'publish' | 'subscribe'): EventMatcher[] {
  const out: EventMatcher[] = [];
  for (const raw of blueprint.manifest.capabilities) {
    const cap = parseCapability(raw);
    if ('error' in cap || cap.kind !== 'events' || cap.operation !== operation) continue;
    // The capability grammar allows a few characters events do not (+, #); such a grant matches nothing.
    if (eventPatternProblem(cap.resource) !== undefined) continue;
    out.push(compileEventPattern(cap.resource, { anySeparator: true }));
  }
  return out;
}

export function serveAgentEvents(blueprint: Blueprint, pid: string, channel: DaemonChannel, deps: AgentEventsDeps): AgentEventsHandle {
  const agentId = blueprint.manifest.id;
  const publishGrants = grantMatchers(blueprint, 'publish');
  const subscribeGrants = grantMatchers(blueprint, 'subscribe');
  const clock = deps.clock ?? systemClock;
  const perSecond = deps.perSecond ?? 50;
  const burst = deps.burst ?? 200;
  const counters: AgentEventsCounters = { published: 0, denied: 0, invalid: 0, rateLimited: 0, delivered: 0 };
  const bucket = new TokenBucket(perSecond, burst, clock);
  let rateWarned = false;
  const ownSource = `agent:${agentId}`;

  const invalid = (message: string) => {
    counters.invalid += 1;
    return new OpenStarryError(ErrorCode.EVENT_INVALID, message);
  };

  channel.handle('events.publish', (params) => {
    const p = typeof params === 'object' && params !== null ? (params as Record<string, unknown>) : {};
    const nameProblem = eventNameProblem(p.name);
    if (nameProblem !== undefined) throw invalid(`events.publish: ${nameProblem}`);
    const name = p.name as string;
    if (!publishGrants.some((m) => m(name))) {
      counters.denied += 1;
      deps.log.warn(`denied: agent ${agentId} (pid ${pid}) events.publish(${name}) without events:<pattern>:publish covering it`);
      throw new OpenStarryError(HalErrorCode.CAPABILITY_DENIED, `events.publish(${name}) needs a capability events:<pattern>:publish covering "${name}", which agent ${agentId} was not granted`);
    }
    const serialised = serialiseEventData(p.data);
    if ('error' in serialised) throw invalid(`events.publish(${name}): ${serialised.error}`);
    if (!bucket.take()) {
      counters.rateLimited += 1;
      if (!rateWarned) deps.log.warn(`agent ${agentId} (pid ${pid}) publishes events faster than ${perSecond}/s; dropping`);
      rateWarned = true;
      throw new OpenStarryError(ErrorCode.EVENT_RATE_LIMITED, `events.publish(${name}): more than ${perSecond} events per second`);
    }
    rateWarned = false;
    counters.published += 1;
    deps.publish(agentId, name, JSON.parse(serialised.text) as JsonValue);
    return undefined;
  });

  const subscribes = (name: string) => subscribeGrants.some((m) => m(name));

  return {
    agentId,
    pid,
    subscribes,
    deliver(name, data, source, options) {
      if (options?.targeted !== true && (source === ownSource || !subscribes(name))) return false;
      const note: EventDeliverNote = { name, data, source };
      try {
        channel.notify('events.deliver', note);
      } catch (err) {
        deps.log.warn(`event ${name} not delivered to agent ${agentId} (pid ${pid}): ${(err as Error).message}`);
        return false;
      }
      counters.delivered += 1;
      return true;
    },
    counters: () => ({ ...counters }),
  };
}
