/** What every benchmark shares: where the daemon bundle is, its environment, and the result table. */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const DAEMON = path.join(ROOT, 'dist', 'openstarryd.js');

export interface Row { metric: string; ours: string; base: string; ratio: string; target: string; met: string }
export const rows: Row[] = [];
export const fmt = (n: number, unit: string) => `${n.toFixed(unit === 'MB' ? 1 : 2)} ${unit}`;

export async function daemonEnv(home: string): Promise<NodeJS.ProcessEnv> {
  await mkdir(home, { recursive: true });
  const env: NodeJS.ProcessEnv = { ...process.env, OPENSTARRY_HOME: home, OPENSTARRY_EMBEDDED_BROKER: '127.0.0.1:0', OPENSTARRY_DASHBOARD: '127.0.0.1:0' };
  delete env.NOTIFY_SOCKET;
  delete env.OPENSTARRY_CONFIG;
  delete env.OPENSTARRY_SOCKET;
  return env;
}

export function print(): void {
  const head: Row = { metric: 'metric', ours: 'openstarryd', base: 'baseline', ratio: 'ratio', target: 'target', met: 'met' };
  const all = [head, ...rows];
  const keys = Object.keys(head) as (keyof Row)[];
  const width = Object.fromEntries(keys.map((k) => [k, Math.max(...all.map((r) => r[k].length))])) as Record<keyof Row, number>;
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
