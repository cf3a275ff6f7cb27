/**
 * Text output of the CLI: aligned tables, durations, byte sizes. Cells never contain spaces where a script
 * might split on whitespace (`12.3MiB`, not `12.3 MiB`); only the last column may, since nothing follows it.
 */

/** Columns separated by two spaces, padded to the widest cell; no trailing whitespace. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    headers
      .map((_, i) => {
        const cell = cells[i] ?? '';
        return i === headers.length - 1 ? cell : cell.padEnd(widths[i] ?? 0);
      })
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/**
 * Compact human duration: `850ms`, `12.3s`, `4m05s`, `2h07m`, `3d04h`. Two units at most: for uptimes and
 * boot phases, more precision is noise.
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(Math.floor(ms / 100) / 10).toFixed(1)}s`;
  const s = Math.floor(ms / 1000);
  const two = (n: number): string => String(n).padStart(2, '0');
  if (s < 3600) return `${Math.floor(s / 60)}m${two(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${two(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86_400)}d${two(Math.floor((s % 86_400) / 3600))}h`;
}

const UNITS = ['KiB', 'MiB', 'GiB', 'TiB'] as const;

/** Binary units, one decimal below 100: `512B`, `1.5KiB`, `12.3MiB`, `256MiB`. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '-';
  if (bytes < 1024) return `${Math.round(bytes)}B`;
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value < 100 ? value.toFixed(1) : Math.round(value)}${UNITS[unit]}`;
}

export function formatPercent(value: number): string {
  return Number.isFinite(value) ? value.toFixed(1) : '-';
}

/** Milliseconds since an ISO time, or NaN when the time does not parse. */
export function since(iso: string, now: number): number {
  return now - Date.parse(iso);
}
