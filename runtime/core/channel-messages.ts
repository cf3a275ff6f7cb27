/**
 * The one message protocol between an agent's isolate and the daemon (docs/ARCHITECTURE.md "The isolate channel"), the same for every
 * isolation driver (MessagePort, framed pipe or socket, host functions). Three shapes, in both directions:
 * a request (`req`) that gets exactly one response (`res`), and a one-way note (`note`).
 *
 * Which methods exist, with their params and results, in each direction: the one table in channel-methods.ts.
 * A method added to the channel is added there (ChannelEndpoint's types then require it on both ends).
 */
import type { WireError } from './errors.ts';

export interface ChannelRequest {
  t: 'req';
  id: number;
  method: string;
  params?: unknown;
}

export type ChannelResponse =
  | { t: 'res'; id: number; ok: true; result?: unknown }
  | { t: 'res'; id: number; ok: false; error: WireError };

export interface ChannelNote {
  t: 'note';
  method: string;
  params?: unknown;
}

export type ChannelMessage = ChannelRequest | ChannelResponse | ChannelNote;

/** What a driver gives the channel: post a message (transferring buffers where it can) and receive them. */
export interface IChannelPort {
  post(message: ChannelMessage, transfer?: readonly ArrayBuffer[]): void;
  onMessage(handler: (message: unknown) => void): void;
  close(): void;
}

export interface LifecycleNote {
  state: 'running' | 'crashed' | 'stopped';
  error?: WireError;
}

export interface LogNote {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  fields?: Record<string, unknown>;
}

export function isChannelMessage(value: unknown): value is ChannelMessage {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  if (v.t === 'req') return typeof v.id === 'number' && typeof v.method === 'string';
  if (v.t === 'res') {
    if (typeof v.id !== 'number' || typeof v.ok !== 'boolean') return false;
    // A failed response must carry a WireError: errorFromWire reads it, and a peer must not crash us with less.
    return v.ok || isWireError(v.error);
  }
  if (v.t === 'note') return typeof v.method === 'string';
  return false;
}

function isWireError(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const e = value as Record<string, unknown>;
  return typeof e.code === 'string' && typeof e.message === 'string';
}
