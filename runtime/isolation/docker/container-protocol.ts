/**
 * The two notes the docker isolate adds on top of the channel protocol (core/channel-messages.ts), and the fixed
 * paths inside an agent container. The first frame the daemon sends on a new connection is the bootstrap; the
 * container sends `host.fatal` with its WireError just before it exits on an uncaught error.
 */
import type { WireError } from '../../core/errors.ts';
import type { IsolateNoteName } from '../../core/channel-methods.ts';
import type { HostBootstrap } from '../host/agent-host.ts';

export const BOOTSTRAP_NOTE = 'host.bootstrap';
export const FATAL_NOTE = 'host.fatal' satisfies IsolateNoteName;

/** Where things are inside an agent container (the image has these as empty directories). */
export const CONTAINER_PATHS = {
  /** The template's folder (agent.json and plugin modules), mounted read-only: spec 000 §2.2 "plugin mount". */
  agentDir: '/opt/openstarry/agent',
  /** The folder holding the channel socket, mounted from the daemon's run dir. */
  channelDir: '/run/openstarry',
  channelSocket: '/run/openstarry/channel.sock',
  /** The entry bundle baked into the image. */
  entry: '/opt/openstarry/agent-container.js',
} as const;

export interface BootstrapNote {
  t: 'note';
  method: typeof BOOTSTRAP_NOTE;
  params: HostBootstrap;
}

export function isBootstrapNote(value: unknown): value is BootstrapNote {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  if (v.t !== 'note' || v.method !== BOOTSTRAP_NOTE || typeof v.params !== 'object' || v.params === null) return false;
  const b = v.params as Record<string, unknown>;
  return (
    typeof b.pid === 'string' &&
    typeof b.agentId === 'string' &&
    typeof b.rootDir === 'string' &&
    Array.isArray(b.plugins) &&
    typeof b.files === 'object' &&
    b.files !== null &&
    typeof b.config === 'object' &&
    b.config !== null
  );
}

/** A `host.fatal` note's params from an untrusted container: a WireError, or undefined if malformed. */
export function fatalError(params: unknown): WireError | undefined {
  if (typeof params !== 'object' || params === null) return undefined;
  const e = (params as { error?: unknown }).error;
  if (typeof e !== 'object' || e === null) return undefined;
  const { code, message } = e as Record<string, unknown>;
  if (typeof code !== 'string' || typeof message !== 'string') return undefined;
  return { code: code.slice(0, 64), message: message.slice(0, 4096) };
}
