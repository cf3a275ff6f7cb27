/**
 * bench/results.json: the table of one `npm run bench` run as data — when, on which Node and machine, and each row
 * with numbers (value, unit, baseline, ratio, met as true/false/null) beside the printed strings. A row that
 * carries no numbers (Row's optional fields) has them read from its strings ("12.3 ms", "1.80x", "yes"/"NO").
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Row } from './bench-table.ts';

export interface Machine { cpu: string; cores: number; memoryBytes: number }

export interface ResultRow {
  metric: string;
  value: number | null;
  unit: string | null;
  baseline: number | null;
  ratio: number | null;
  target: string;
  met: boolean | null;
  /** Exactly what the table printed. */
  text: { ours: string; base: string; ratio: string; target: string; met: string };
}

export interface Results {
  date: string;
  node: string;
  machine: Machine;
  /** The command line after `npm run bench --`. */
  args: readonly string[];
  rows: ResultRow[];
}

/** "12.34 ms" -> 12.34 and "ms"; anything else (a range, "skipped: ...", "-") -> nulls. */
function number(text: string): { n: number | null; unit: string | null } {
  const m = /^(-?\d+(?:\.\d+)?)\s*([^\s\d(][^\s(]*)?(?:\s*\(.*\))?$/.exec(text.trim());
  return m ? { n: Number(m[1]), unit: m[2] ?? null } : { n: null, unit: null };
}

export function resultRow(r: Row): ResultRow {
  const ours = number(r.ours);
  const base = number(r.base);
  const ratio = /^(\d+(?:\.\d+)?)x$/.exec(r.ratio.trim());
  return {
    metric: r.metric,
    value: r.value ?? ours.n,
    unit: r.unit ?? ours.unit,
    baseline: r.baseline ?? (base.unit === ours.unit ? base.n : null),
    ratio: r.ratioValue ?? (ratio ? Number(ratio[1]) : null),
    target: r.targetText ?? r.target,
    met: /^yes/i.test(r.met) ? true : /^no\b/i.test(r.met) ? false : null,
    text: { ours: r.ours, base: r.base, ratio: r.ratio, target: r.target, met: r.met },
  };
}

/** The CPU model from /proc/cpuinfo ("model name", or arm64's "Model"/"Hardware"), else Node's. */
export function cpuModel(cpuinfo: string): string | undefined {
  for (const key of ['model name', 'Model', 'Hardware']) {
    const m = new RegExp(`^${key}\\s*:\\s*(.+)$`, 'm').exec(cpuinfo);
    if (m?.[1]) return m[1].trim();
  }
  return undefined;
}

export async function machine(): Promise<Machine> {
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  return { cpu: cpuModel(cpuinfo) ?? os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, memoryBytes: os.totalmem() };
}

export async function writeResults(file: string, rows: readonly Row[], args: readonly string[], now: Date = new Date()): Promise<Results> {
  const results: Results = { date: now.toISOString(), node: process.version, machine: await machine(), args, rows: rows.map(resultRow) };
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
  return results;
}
