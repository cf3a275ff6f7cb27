/**
 * `openstarry status [--json]` (README "A short tour"; docs/ARCHITECTURE.md "Boot sequence"): what the daemon is doing,
 * how each boot phase went and anything running in a reduced mode, in a form a person reads top to bottom.
 */
import type { AgentState, DaemonStatus, ResourceTotals } from '../../control/protocol.ts';
import type { Command } from '../args.ts';
import { ExitCode } from '../args.ts';
import { formatBytes, formatDuration, formatPercent, formatTable } from '../format.ts';
import { reloadLine } from './reload.ts';

const STATES: readonly AgentState[] = ['starting', 'running', 'stopping', 'restarting', 'exited', 'crashed'];

export function statusText(s: DaemonStatus): string {
  const board = `${s.board.name}${s.board.model === undefined ? '' : ` (${s.board.model})`}, detected by ${s.board.detectedBy}`;
  const counts = STATES.filter((st) => s.agents[st] > 0).map((st) => `${st} ${s.agents[st]}`);
  const lines = [
    `openstarryd ${s.version} (pid ${s.pid}): ${s.state}, phase ${s.phase}`,
    `device:     ${s.deviceId}`,
    `board:      ${board}`,
    `uptime:     ${formatDuration(s.uptimeMs)} (since ${s.startedAt})`,
    `config:     ${s.configFile ?? '(none: defaults)'}`,
    `home:       ${s.home}`,
    `socket:     ${s.socket}`,
    ...(s.control ? [`  connections ${s.control.connections}/${s.control.maxConnections}; closed ${s.control.idleClosed} idle, ${s.control.slowClosed} slow, ${s.control.evicted} evicted; refused ${s.control.refused} connections, ${s.control.followsRefused} follows`] : []),
    `degraded:   ${s.degraded.length === 0 ? 'no' : s.degraded.join(', ')}`,
    ...(s.stateDb?.readOnly ? [`state:      ${s.stateDb.file} is read-only: agents' state held in memory, writes retried (${s.stateDb.failedWrites} failed)`] : []),
    `link:       ${linkLine(s.link)}`,
    ...(s.homeassistant ? [`hass:       ${homeassistantLine(s.homeassistant)}`] : []),
    ...(s.isolation ? [`isolation:  ${s.isolation.drivers.join(', ')}${Object.entries(s.isolation.unavailable).map(([k, v]) => `; ${k} unavailable: ${v}`).join('')}`] : []),
    ...(s.systemd ? [`systemd:    ${systemdLine(s.systemd)}`] : []),
    `agents:     ${s.agents.total} total${counts.length === 0 ? '' : ` (${counts.join(', ')})`}${s.masterPid === undefined ? '' : `, master pid ${s.masterPid}`}`,
    ...(s.channels ? [`channels:   messages up to ${formatBytes(s.channels.maxMessageBytes)}; ${s.channels.refused} agent(s) stopped for a larger one`] : []),
    `templates:  ${s.templates.valid} valid, ${s.templates.invalid.length} invalid in ${s.templates.dir}`,
  ];
  const r = s.templates.remote;
  if (r) lines.push(`  design layer ${r.url}: ${r.state}${r.state === 'unreachable' ? ` (${r.lastError ?? 'no answer'}), ${r.templates} template(s) from the cache` : ''}`);
  for (const bad of s.templates.invalid) lines.push(`  invalid: ${bad.file}: ${bad.error.replaceAll('\n', '\n    ')}`);
  const o = s.orchestration as { rules?: number; rulesFile?: string } | undefined;
  if (o?.rules !== undefined) lines.push(`rules:      ${o.rules} rule(s) from ${o.rulesFile ?? '?'}`);
  if (s.reload) lines.push(`reload:     ${reloadLine(s.reload)}`, ...s.reload.errors.map((e) => `  ${e}`));
  if (s.infrastructure.length > 0) lines.push(`infra:      ${s.infrastructure.map((i) => `${i.name} ${i.state}`).join(', ')}`);
  if (s.resources) lines.push('', 'resources (live agents; tokens include ended ones):', ...resourceRows(s.resources).split('\n').map((l) => `  ${l}`));
  lines.push('', 'boot phases:');
  const rows = s.phases.map((p) => [p.name, p.state, p.durationMs === undefined ? '-' : formatDuration(p.durationMs), p.detail ?? '']);
  lines.push(...formatTable(['PHASE', 'STATE', 'TIME', 'DETAIL'], rows).split('\n').map((l) => `  ${l}`));
  return lines.join('\n');
}

function resourceRows(r: NonNullable<DaemonStatus['resources']>): string {
  const row = (name: string, t: ResourceTotals) => [name, String(t.agents), formatPercent(t.cpuPercent), formatBytes(t.memoryBytes), String(t.tokensUsed), String(t.quarantined)];
  const rows = Object.entries(r.byDriver).map(([name, t]) => row(name, t));
  rows.push(row('total', r.total));
  return formatTable(['DRIVER', 'AGENTS', 'CPU%', 'MEM', 'TOKENS', 'QUARANTINED'], rows);
}

/** `notify addon, watchdog pinging every 15.0s (interval 30.0s, 12 pings)`, or why each is off. */
function systemdLine(sd: NonNullable<DaemonStatus['systemd']>): string {
  if (sd.notify === 'off') return 'not started by systemd (no NOTIFY_SOCKET)';
  const notify = sd.notify === 'addon' ? 'notify addon' : `notify systemd-notify (fork per message; addon not loaded: ${sd.notifyFallback ?? 'unknown'})`;
  const w = sd.watchdog;
  if (w.state === 'off') return `${notify}, watchdog off (${w.reason})`;
  return `${notify}, watchdog ${w.state} every ${formatDuration(w.periodMs)} (interval ${formatDuration(w.intervalMs)}, ${w.pings} pings)${w.reason ? `: ${w.reason}` : ''}`;
}

function linkLine(link: DaemonStatus['link']): string {
  const parts = [link.state];
  if (link.url) parts.push(link.url);
  const queue = link.queue as { queued?: number; dropped?: number; expired?: number; newerRecords?: number } | undefined;
  if (queue) parts.push(`queue ${queue.queued ?? 0}${queue.dropped ? ` (${queue.dropped} dropped)` : ''}${queue.expired ? ` (${queue.expired} expired)` : ''}${queue.newerRecords ? ` (${queue.newerRecords} of a newer version kept)` : ''}`);
  if (typeof link.lastError === 'string') parts.push(`last error: ${link.lastError}`);
  if (link.broker) parts.push(`embedded broker ${link.broker.state} on ${link.broker.host}:${link.broker.port}${refusedText(link.broker.guard?.refused)}`);
  return parts.join(', ');
}

/** `15 entities under homeassistant/; commands 3: 1 applied, 1 refused (last: ...), 1 malformed`, or why it did not start. */
function homeassistantLine(h: NonNullable<DaemonStatus['homeassistant']>): string {
  if (typeof h.error === 'string') return `Home Assistant discovery not started: ${h.error}`;
  const c = h.commands as { received?: number; applied?: number; refused?: number; malformed?: number } | undefined;
  const refusal = typeof h.lastRefusal === 'string' ? ` (last: ${h.lastRefusal})` : '';
  return `${String(h.entities)} entities under ${String(h.prefix)}/; commands ${c?.received ?? 0}: ${c?.applied ?? 0} applied, ${c?.refused ?? 0} refused${refusal}, ${c?.malformed ?? 0} malformed`;
}

/**
 * ` (refused: 3 topic, 1 clientId)` and ` (withheld by the ACL: 5)`, or nothing when the embedded broker refused
 * nothing. `read` closed no connection: deliveries the ACL withheld (README "MQTT, remote triggers and rules").
 */
function refusedText(refused: Record<string, number> | undefined): string {
  const { read = 0, ...closing } = refused ?? {};
  const parts = Object.entries(closing).filter(([, n]) => n > 0).map(([reason, n]) => `${n} ${reason}`);
  return `${parts.length > 0 ? ` (refused: ${parts.join(', ')})` : ''}${read > 0 ? ` (withheld by the ACL: ${read})` : ''}`;
}

export const status: Command = {
  name: 'status',
  summary: 'daemon state: board, boot phases, degraded flags, templates, agents, resources, MQTT link',
  synopsis: 'status [--json]',
  args: [0, 0],
  async run(ctx) {
    const s = await ctx.call('status');
    ctx.io.out(ctx.json ? JSON.stringify(s, null, 2) : statusText(s));
    return ExitCode.OK;
  },
};
