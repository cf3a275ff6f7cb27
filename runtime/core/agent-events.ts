/**
 * The agent side of ctx.events (README "Writing an agent"): boundary events in and out of an agent.
 *
 *   publish(name, data)  -> channel request `events.publish` {name, data}; the daemon checks the agent's
 *                           `events:<pattern>:publish` grant, then feeds the orchestrator and MQTT `out/<name>`.
 *   on(pattern, handler) -> handler(data, event) for every `events.deliver` note {name, data, source} whose name
 *                           matches; returns the unsubscribe function. The daemon sends an agent only events it
 *                           holds an `events:<pattern>:subscribe` grant for, or events a rule addresses to it
 *                           (`notify(agent)`, or `spawn(agent)` while it already runs).
 *
 * Checks done here (name, JSON, size) are repeated by the daemon, which does not trust the isolate; doing them
 * first gives the agent a synchronous, precise error and keeps junk off the channel. A subscription holds the
 * channel (like a HAL watch), so an agent that only listens for events stays alive. Pure: no node:* imports.
 */
import type { EventDeliverNote, IsolateChannel } from './channel-methods.ts';
import { ErrorCode, OpenStarryError, errorToWire } from './errors.ts';
import { compileEventPattern, eventNameProblem, eventPatternProblem, serialiseEventData } from './event-names.ts';
import type { EventMatcher } from './event-names.ts';
import type { AgentEvent, AgentEventHandler, IAgentEvents, IAgentLog, JsonValue } from './plugin.ts';

// ctx.events' types are part of the plugin contract (plugin.ts); re-exported here for the callers that import them from this file.
export type { AgentEvent, AgentEventHandler, IAgentEvents } from './plugin.ts';

/** The `events.deliver` note's params, as the daemon sends them (declared in the channel's table). */
export type { EventDeliverNote } from './channel-methods.ts';

interface Subscription {
  matches: EventMatcher;
  handler: AgentEventHandler;
}

/** ctx.events plus close(), which the core calls after the plugins stopped: drops every subscription and its hold. */
export function createAgentEvents(channel: IsolateChannel, log: IAgentLog): { events: IAgentEvents; close(): void } {
  const subscriptions = new Set<Subscription>();
  const releases = new Set<() => void>();
  let closed = false;
  const fail = (err: unknown, name: string) => log.error(`event handler for ${name} failed: ${errorToWire(err).message}`);

  channel.onNote('events.deliver', (params) => {
    const event = asDeliverNote(params);
    if (event === undefined) {
      log.warn('ignored a malformed events.deliver note');
      return;
    }
    for (const s of [...subscriptions]) {
      if (!subscriptions.has(s) || !s.matches(event.name)) continue;
      // Each handler gets its own copy: one handler mutating the data must not change what the next one sees.
      const copy: AgentEvent = { name: event.name, source: event.source, data: structuredClone(event.data) };
      try {
        const result = s.handler(copy.data, copy);
        if (result instanceof Promise) result.catch((err: unknown) => fail(err, event.name));
      } catch (err) {
        fail(err, event.name);
      }
    }
  });

  const events: IAgentEvents = Object.freeze({
    publish: (name: string, data?: JsonValue): Promise<void> => {
      const nameProblem = eventNameProblem(name);
      if (nameProblem !== undefined) return Promise.reject(new OpenStarryError(ErrorCode.EVENT_INVALID, `events.publish: ${nameProblem}`));
      const serialised = serialiseEventData(data);
      if ('error' in serialised) return Promise.reject(new OpenStarryError(ErrorCode.EVENT_INVALID, `events.publish(${name}): ${serialised.error}`));
      return channel.request('events.publish', { name, data: JSON.parse(serialised.text) as JsonValue }).then(() => undefined);
    },
    on: (pattern: string, handler: AgentEventHandler): (() => void) => {
      const problem = eventPatternProblem(pattern);
      if (problem !== undefined) throw new OpenStarryError(ErrorCode.EVENT_INVALID, `events.on: ${problem}`);
      if (typeof handler !== 'function') throw new OpenStarryError(ErrorCode.EVENT_INVALID, 'events.on: the handler must be a function');
      if (closed) return () => undefined;
      const entry: Subscription = { matches: compileEventPattern(pattern), handler };
      subscriptions.add(entry);
      const release = channel.retain();
      releases.add(release);
      return () => {
        subscriptions.delete(entry);
        releases.delete(release);
        release();
      };
    },
  });
  const close = (): void => {
    closed = true;
    subscriptions.clear();
    for (const release of releases) release();
    releases.clear();
  };
  return { events, close };
}

function asDeliverNote(params: unknown): EventDeliverNote | undefined {
  if (typeof params !== 'object' || params === null) return undefined;
  const p = params as Record<string, unknown>;
  if (typeof p.name !== 'string' || typeof p.source !== 'string') return undefined;
  return { name: p.name, source: p.source, data: (p.data ?? null) as JsonValue };
}
