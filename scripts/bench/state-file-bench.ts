/** The state DB under 10 agents saving every 100 ms: what reaches the SD card, vs a write per update. */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { benchStateWrites } from '../../runtime/state/state-write-bench.ts';
import { rows } from './bench-table.ts';

export async function benchStateFile(work: string): Promise<void> {
  const dir = path.join(work, 'state');
  await mkdir(dir, { recursive: true });
  const r = await benchStateWrites(dir, { agents: 10, hz: 10, seconds: Number(process.env.BENCH_STATE_SECONDS ?? 20) });
  const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB/min`;
  rows.push({ metric: 'state file, 10 agents x 10 saves/s', ours: `${kib(r.bytesPerMinute)} (${Math.round(r.writesPerMinute)} writes/min)`, base: kib(r.naiveBytesPerMinute), ratio: `${(r.naiveBytesPerMinute / Math.max(1, r.bytesPerMinute)).toFixed(0)}x less`, target: 'coalesced', met: r.writesPerMinute <= 31 ? 'yes' : 'NO' });
}
