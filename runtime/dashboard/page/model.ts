/**
 * The page's model of what /api/stream sends (runtime/dashboard/dashboard-feed.ts): the last snapshot, and every
 * sensor's history, kept to the last 10 minutes and grown by `sample` events between snapshots.
 */

import type { DeviceListEntry } from '../../../hal/device-list.ts';
import type { IAgentStatus } from '../../supervisor/agent-status.ts';

export const WINDOW_MS = 10 * 60_000;

/** The rows are the daemon's own types (type-only imports: nothing of them reaches the browser bundle). */
export type AgentRow = IAgentStatus;
export type DeviceRow = DeviceListEntry;

export interface RuleRow {
  label: string;
  on: string;
  enabled: boolean;
  matched: number;
  fired: number;
  dropped: Record<string, number>;
  lastFiredAt?: string;
}

export interface Status {
  version: string;
  deviceId: string;
  state: string;
  phase?: string;
  phases?: { name: string; state: string; durationMs?: number; detail?: string }[];
  board?: { name: string; model?: string };
  degraded?: string[];
  uptimeMs?: number;
  link?: { state: string; url?: string; lastError?: string; queue?: { queued: number; dropped: number; expired: number }; droppedQos0?: number; droppedIncoming?: number };
}

export interface Snapshot {
  at: string;
  canAct: boolean;
  status?: Status;
  agents: AgentRow[];
  devices: DeviceRow[];
  rules?: { rules: number; eventsSeen: number; fired: number; dropped: Record<string, number>; perRule: RuleRow[] };
  templates: string[];
  events: { at: string; kind: string; text: string }[];
}

export type Series = { at: number[]; values: number[] };
/** device -> quantity -> series */
export type History = Record<string, Record<string, Series>>;

export interface Sample {
  deviceId: string;
  values: Record<string, number>;
  at: number;
}

/** Adds one sample to the history and drops what is older than the window. */
export function addSample(history: History, s: Sample): void {
  const device = (history[s.deviceId] ??= {});
  for (const [q, v] of Object.entries(s.values)) {
    const series = (device[q] ??= { at: [], values: [] });
    series.at.push(s.at);
    series.values.push(v);
    while (series.at.length > 0 && series.at[0]! < s.at - WINDOW_MS) {
      series.at.shift();
      series.values.shift();
    }
  }
}

/** A device's value for a table cell: a reading map as `temperature 21.4 · humidity 40`. */
export function formatValue(value: unknown): string {
  if (value === undefined || value === null) return '–';
  if (typeof value === 'number') return round(value);
  if (typeof value === 'object' && !Array.isArray(value)) {
    return Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${k} ${typeof v === 'number' ? round(v) : JSON.stringify(v)}`)
      .join(' · ');
  }
  return String(value);
}

export function round(n: number): string {
  if (Number.isInteger(n)) return String(n);
  return Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 10 ? n.toFixed(1) : n.toFixed(2);
}

export function formatBytes(n: number): string {
  return n >= 1048576 ? `${(n / 1048576).toFixed(1)} MB` : `${Math.round(n / 1024)} KB`;
}

export function formatDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return d > 0 ? `${d}d ${h}h` : h > 0 ? `${h}h ${m}m` : m > 0 ? `${m}m ${s % 60}s` : `${s}s`;
}
