/** `openstarry devices [--json]` (README "A short tour"): the HAL's devices with kind, driver, current value and owner. */
import type { DeviceListEntry } from '../../control/protocol.ts';
import type { Command } from '../args.ts';
import { ExitCode } from '../args.ts';
import { formatTable } from '../format.ts';

function formatValue(value: unknown): string {
  if (value === undefined) return '-';
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${k}=${typeof v === 'number' ? Number(v.toFixed(3)) : String(v)}`)
      .join(' ');
  }
  return String(value);
}

export function devicesTable(devices: readonly DeviceListEntry[]): string {
  const rows = devices.map((d) => [
    d.id,
    d.kind,
    d.driver,
    d.state === 'ok' ? formatValue(d.value) : 'FAILED',
    d.owner ? `${d.owner.agentId}[${d.owner.pid}]` : '-',
    d.error ?? '',
  ]);
  return formatTable(['DEVICE', 'KIND', 'DRIVER', 'VALUE', 'OWNER', 'ERROR'], rows);
}

export const devices: Command = {
  name: 'devices',
  summary: 'list the hardware the HAL manages',
  synopsis: 'devices [--json]',
  args: [0, 0],
  async run(ctx) {
    const list = await ctx.call('devices.list');
    ctx.io.out(ctx.json ? JSON.stringify(list, null, 2) : devicesTable(list));
    return ExitCode.OK;
  },
};
