/** What every benchmark shares: where the daemon bundle is, its environment, and the result table. */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DAEMON_ENV } from '../../runtime/daemon/node-flags.ts';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const DAEMON = path.join(ROOT, 'dist', 'openstarryd.js');
/** The daemon's Node options, as every launch path gives them (runtime/daemon/node-flags.ts): put before DAEMON. */
export { DAEMON_NODE_FLAGS } from '../../runtime/daemon/node-flags.ts';

/**
 * One line of the table. The strings are what is printed; the optional numbers are what bench/results.json
 * carries (bench-results.ts reads them, or parses the strings of a row that has none).
 */
export interface Row {
  metric: string;
  ours: string;
  base: string;
  ratio: string;
  target: string;
  met: string;
  /** The figure, in `unit`. */
  value?: number;
  unit?: string;
  /** The baseline's figure, in `unit`. */
  baseline?: number;
  /** value / baseline (or what the row calls its ratio). */
  ratioValue?: number;
  /** The target as words for the JSON when `target` is abbreviated, e.g. "ratio <= 1.25". */
  targetText?: string;
}

/** A target on the ratio (value / baseline) or on the value itself; `reported` rows have none. */
export type Target = { on: 'ratio' | 'value'; atMost: number } | { on: 'ratio' | 'value'; atLeast: number } | 'reported';

export interface Measured {
  metric: string;
  value: number;
  unit: string;
  baseline?: number;
  target: Target;
  /** Digits after the point (default: 1 for MB and %, else 2). */
  digits?: number;
}

/** A row from figures: the strings, the ratio and whether the target is met, all computed the same way. */
export function measuredRow(m: Measured): Row {
  const digits = m.digits ?? (m.unit === 'MB' || m.unit === '%' ? 1 : 2);
  const show = (n: number) => `${n.toFixed(digits)} ${m.unit}`;
  const ratio = m.baseline === undefined ? undefined : m.value / m.baseline;
  let target = 'reported';
  let met = '-';
  if (m.target !== 'reported') {
    const t = m.target;
    const limit = 'atMost' in t ? t.atMost : t.atLeast;
    const subject = t.on === 'ratio' ? ratio : m.value;
    target = `${'atMost' in t ? '<=' : '>='} ${limit}${t.on === 'ratio' ? 'x' : ` ${m.unit}`}`;
    if (subject === undefined || !Number.isFinite(subject)) met = 'NO (no figure)';
    else met = ('atMost' in t ? subject <= limit : subject >= limit) ? 'yes' : 'NO';
  }
  return {
    metric: m.metric,
    ours: show(m.value),
    base: m.baseline === undefined ? '-' : show(m.baseline),
    ratio: ratio === undefined ? '-' : `${ratio.toFixed(2)}x`,
    target,
    met,
    value: m.value,
    unit: m.unit,
    ...(m.baseline === undefined ? {} : { baseline: m.baseline }),
    ...(ratio === undefined ? {} : { ratioValue: ratio }),
  };
}

/** A row that could not be measured here (a missing tool or file): not a failure, the reason is the figure. */
export function skippedRow(metric: string, why: string, target = '-'): Row {
  return { metric, ours: `skipped: ${why}`, base: '-', ratio: '-', target, met: '-' };
}
export const rows: Row[] = [];
export const fmt = (n: number, unit: string) => `${n.toFixed(unit === 'MB' ? 1 : 2)} ${unit}`;

export async function daemonEnv(home: string): Promise<NodeJS.ProcessEnv> {
  await mkdir(home, { recursive: true });
  const env: NodeJS.ProcessEnv = { ...process.env, ...DAEMON_ENV, OPENSTARRY_HOME: home, OPENSTARRY_EMBEDDED_BROKER: '127.0.0.1:0', OPENSTARRY_DASHBOARD: '127.0.0.1:0' };
  delete env.NOTIFY_SOCKET;
  delete env.OPENSTARRY_CONFIG;
  delete env.OPENSTARRY_SOCKET;
  return env;
}

export function print(): void {
  const head = { metric: 'metric', ours: 'openstarryd', base: 'baseline', ratio: 'ratio', target: 'target', met: 'met' } as const;
  const all: Row[] = [head, ...rows];
  const keys = Object.keys(head) as (keyof typeof head)[];
  const width = Object.fromEntries(keys.map((k) => [k, Math.max(...all.map((r) => r[k].length))])) as Record<keyof typeof head, number>;
  for (const [i, r] of all.entries()) {
    console.log(keys.map((k) => r[k].padEnd(width[k])).join('  '));
    if (i === 0) console.log(keys.map((k) => '-'.repeat(width[k])).join('  '));
  }
}


/** A config file turning on warm spares (agents.warmSpares), for the side-by-side rows. */
export async function warmConfig(work: string): Promise<string> {
  const file = path.join(work, 'warm.yaml');
  await writeFile(file, 'agents:\n  warmSpares: 1\n');
  return file;
}
