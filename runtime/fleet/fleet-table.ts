/**
 * The fleet's table (issue 16: "prints the fleet's table from the retained status topics"; README "Deploying
 * updates"), built from what boards publish retained: `openstarry/<deviceId>/deploy/groups` (which groups a board is
 * in) and `openstarry/<deviceId>/deploy/status` (its last deployment). Pure: `openstarry deploy status`
 * (fleet-status-reader.ts) feeds it the messages a subscription received. Boards with a custom `mqtt.topicPrefix`
 * (`farm/<deviceId>/`) are read under that root (`--prefix farm`).
 */
import * as z from 'zod/mini';
import '../zod-messages.ts';
import { deployStatusSchema } from './deploy-document.ts';
import type { DeployStatusMessage } from './deploy-document.ts';

/** The default root: a board's default `mqtt.topicPrefix` is `openstarry/<deviceId>/`. */
export const DEFAULT_ROOT = 'openstarry';
/** A status message is a few short fields (deploy-document.ts); a larger one is not parsed. */
const MAX_STATUS_BYTES = 16 * 1024;

/** The two subscriptions under a root: every board's status and groups. */
export function fleetFilters(root = DEFAULT_ROOT): { status: string; groups: string } {
  return { status: `${root}/+/deploy/status`, groups: `${root}/+/deploy/groups` };
}

const groupsSchema = z.object({ groups: z.array(z.string()) });

export interface FleetRow {
  device: string;
  status?: DeployStatusMessage;
  /** Set when the board's status message did not parse. */
  problem?: string;
}

/** Collects retained messages; a later message for the same board replaces the earlier one; at most `maxBoards` boards. */
export class FleetTable {
  readonly #groups = new Map<string, string[]>();
  readonly #status = new Map<string, { status?: DeployStatusMessage; problem?: string }>();
  readonly #maxBoards: number;
  readonly #root: string;

  constructor(options: { maxBoards?: number; root?: string } = {}) {
    this.#maxBoards = options.maxBoards ?? 10_000;
    this.#root = `${options.root ?? DEFAULT_ROOT}/`;
  }

  /** One message; false when the topic is neither a status nor a groups topic. */
  add(topic: string, payload: Uint8Array): boolean {
    const m = topic.startsWith(this.#root) ? /^([^/]+)\/deploy\/(status|groups)$/.exec(topic.slice(this.#root.length)) : null;
    if (!m) return false;
    const [, device, kind] = m as unknown as [string, string, string];
    if (payload.byteLength === 0) {
      (kind === 'status' ? this.#status : this.#groups).delete(device);
      return true;
    }
    if (!this.#groups.has(device) && !this.#status.has(device) && this.#groups.size + this.#status.size >= this.#maxBoards) return true;
    let value: unknown;
    if (payload.byteLength > MAX_STATUS_BYTES) {
      if (kind === 'status') this.#status.set(device, { problem: `status message of ${payload.byteLength} bytes, over ${MAX_STATUS_BYTES}` });
      return true;
    }
    try {
      value = JSON.parse(Buffer.from(payload).toString('utf8'));
    } catch {
      value = undefined;
    }
    if (kind === 'groups') {
      const parsed = groupsSchema.safeParse(value);
      if (parsed.success) this.#groups.set(device, parsed.data.groups);
      return true;
    }
    const parsed = deployStatusSchema.safeParse(value);
    this.#status.set(device, parsed.success ? { status: parsed.data as DeployStatusMessage } : { problem: 'status message does not parse' });
    return true;
  }

  /** The group's boards (those that published the group, plus any with a status when no group is asked), sorted by device id. */
  rows(group?: string): FleetRow[] {
    const devices = group === undefined ? new Set([...this.#groups.keys(), ...this.#status.keys()]) : new Set([...this.#groups].filter(([, g]) => g.includes(group)).map(([d]) => d));
    return [...devices].sort().map((device) => ({ device, ...this.#status.get(device) }));
  }
}

// REASON can be long: it goes last, so the columns before it stay aligned.
const HEADER = ['DEVICE', 'TEMPLATE', 'VERSION', 'PHASE', 'AT', 'REASON'];

/** A plain text table, one row per board; a board with no status yet shows `-`. */
export function formatFleetTable(rows: readonly FleetRow[]): string {
  const cells = rows.map((r) => [r.device, r.status?.templateId ?? '-', r.status?.version ?? '-', r.status?.phase ?? (r.problem ? 'invalid' : '-'), r.status?.at ?? '-', (r.status?.reason ?? r.problem ?? '').replace(/\s+/g, ' ')]);
  const widths = HEADER.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] as string).length)));
  const line = (c: readonly string[]) => c.map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i] as number))).join('  ').trimEnd();
  return [line(HEADER), ...cells.map(line)].join('\n');
}
