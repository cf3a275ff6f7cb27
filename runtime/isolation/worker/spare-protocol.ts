/** The one message that turns a warm spare worker into an agent's isolate (see worker-entry.ts). */
import type { HostBootstrap } from '../host/agent-host.ts';

/** workerData of a spare: it waits for a SpareAssignment instead of starting an agent. */
export const SPARE_WAITING = 'openstarry:spare-waiting';

export interface SpareAssignment {
  t: 'bootstrap';
  bootstrap: HostBootstrap;
  env: Record<string, string>;
}

export function isSpareAssignment(value: unknown): value is SpareAssignment {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return v.t === 'bootstrap' && typeof v.bootstrap === 'object' && v.bootstrap !== null && typeof v.env === 'object' && v.env !== null;
}
