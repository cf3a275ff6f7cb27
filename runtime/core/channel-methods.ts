/**
 * The one table of typed messages on the isolate <-> daemon channel (channel-messages.ts has the wire shapes):
 * every request with its params and result, every note with its params, in each direction. ChannelEndpoint
 * (channel-endpoint.ts) is generic over a side of this table, so on both ends and in all four isolation drivers
 * a misspelt method or wrong params fails `tsc` (channel-methods.test.ts tests that). The wire stays
 * `{ t, id, method, params }`: this file adds types, not bytes.
 *
 * Types only describe what a well-behaved peer sends. The daemon's side receives from an untrusted isolate, so its
 * handlers get `unknown` params and keep validating them at the boundary (hal/hal-session.ts,
 * daemon/agent-manager-service.ts, ...); the isolate's side trusts the daemon and gets the declared types.
 */
import type { WireError } from './errors.ts';
import type { HalInputEdge } from './hal-api.ts';
import type { JsonValue } from './json-value.ts';
import type { LifecycleNote, LogNote } from './channel-messages.ts';
import type { ChannelEndpoint } from './channel-endpoint.ts';

/** What ctx.agents returns for an agent (the `agents.*` results; spec 002 phase 4 "AgentManagerTool"). */
export interface ManagedAgent {
  pid: string;
  agentId: string;
  template: string;
  state: string;
  reason?: string;
}

/** The wire form of one coalesced token report (metering.ts); the daemon validates it again. */
export interface MeteringTokensNote {
  n: number;
  info?: Record<string, JsonValue>;
}

/** The `events.deliver` note's params, as the daemon sends them. */
export interface EventDeliverNote {
  name: string;
  data: JsonValue;
  source: string;
}

/** The `hal.edge` note: an edge on an input the isolate watches (`hal.watch`). */
export interface HalEdgeNote {
  watchId: number;
  edge: HalInputEdge;
}

/** The `agent.usage` answer: what the isolate measures of itself where the driver cannot (no procfs). */
export interface AgentUsage {
  memoryBytes: number;
}

/** Requests the daemon sends an isolate, and notes it sends (answered by the isolate's host and AgentCore). */
export type DaemonToIsolate = {
  requests: {
    'agent.stop': { params: undefined; result: void };
    'agent.snapshot': { params: undefined; result: Record<string, unknown> };
    'agent.usage': { params: undefined; result: AgentUsage };
  };
  notes: {
    'hal.edge': HalEdgeNote;
    'events.deliver': EventDeliverNote;
  };
};

/**
 * Requests and notes an isolate sends the daemon. The `host.*` notes come from the isolate's host code, not from
 * AgentCore: `host.fatal` just before a process or container exits on an uncaught error, and
 * `host.message-too-large` instead of a message over the size cap (isolation/message-cap.ts). The bootstrap
 * (`host.bootstrap`) is not here: the daemon posts it on the raw port before either endpoint exists.
 */
export type IsolateToDaemon = {
  requests: {
    'hal.read': { params: { sensorType: string }; result: number };
    'hal.control': { params: { deviceId: string; command: string | number | boolean }; result: void };
    'hal.watch': { params: { deviceId: string }; result: { watchId: number } };
    'hal.unwatch': { params: { watchId: number }; result: void };
    'hal.camera.open': { params: { deviceId: string }; result: { streamId: number } };
    'hal.camera.next': { params: { streamId: number; after: number }; result: { seq: number; jpeg: ArrayBuffer } };
    'hal.camera.close': { params: { streamId: number }; result: void };
    'hal.serial.open': { params: { deviceId: string }; result: { portId: number } };
    'hal.serial.read': { params: { portId: number }; result: { data: ArrayBuffer | null } };
    'hal.serial.write': { params: { portId: number; data: ArrayBuffer }; result: void };
    'hal.serial.close': { params: { portId: number }; result: void };
    'state.load': { params: undefined; result: JsonValue };
    'events.publish': { params: { name: string; data?: JsonValue }; result: void };
    'agents.spawn': { params: { templateId: string; config?: Record<string, JsonValue> }; result: ManagedAgent };
    'agents.kill': { params: { pid: string }; result: ManagedAgent };
    'agents.list': { params: undefined; result: ManagedAgent[] };
  };
  notes: {
    lifecycle: LifecycleNote;
    log: LogNote;
    'metering.tokens': MeteringTokensNote;
    'state.save': JsonValue;
    'agent.health': { ok: boolean; reason?: string };
    'host.fatal': { error: WireError };
    'host.message-too-large': { bytes: number; cap: number };
  };
};

/** The daemon's end: sends DaemonToIsolate, receives IsolateToDaemon from an untrusted isolate. */
export type DaemonSide = { sends: DaemonToIsolate; receives: IsolateToDaemon; trustsPeer: false };
/** The isolate's end: sends IsolateToDaemon, receives DaemonToIsolate from the daemon. */
export type IsolateSide = { sends: IsolateToDaemon; receives: DaemonToIsolate; trustsPeer: true };

export type DaemonChannel = ChannelEndpoint<DaemonSide>;
export type IsolateChannel = ChannelEndpoint<IsolateSide>;

/** Names of the notes an isolate sends: for host code that posts a note on a raw port (no endpoint yet). */
export type IsolateNoteName = keyof IsolateToDaemon['notes'];

/** A note from the isolate's side as the raw wire object, typed by the table (for posts that bypass an endpoint). */
export function isolateNote<M extends IsolateNoteName>(method: M, params: IsolateToDaemon['notes'][M]): { t: 'note'; method: M; params: IsolateToDaemon['notes'][M] } {
  return { t: 'note', method, params };
}
