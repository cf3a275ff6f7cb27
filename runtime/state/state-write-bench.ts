/**
 * For `npm run bench` (the issue: "measure bytes written per minute"): `agents` agents each saving a changed
 * snapshot `hz` times a second on a real file, in real time, for `seconds`; reports what reached the file system,
 * scaled to a minute, next to what writing the document on every update (lowdb's Low#update) would have cost.
 */
import path from 'node:path';
import { StateDb } from './state-db.ts';

export interface StateWriteBenchOptions {
  agents?: number;
  hz?: number;
  seconds?: number;
  flushIntervalMs?: number;
}

export interface StateWriteBenchResult {
  updates: number;
  writes: number;
  bytesPerMinute: number;
  writesPerMinute: number;
  /** updates x document size, per minute: the write-on-every-update baseline. */
  naiveBytesPerMinute: number;
}

export async function benchStateWrites(dir: string, options: StateWriteBenchOptions = {}): Promise<StateWriteBenchResult> {
  const { agents = 10, hz = 10, seconds = 10, flushIntervalMs } = options;
  const db = await StateDb.open({ file: path.join(dir, 'state.json'), ...(flushIntervalMs === undefined ? {} : { flushIntervalMs }) });
  const ids = Array.from({ length: agents }, (_, i) => `bench-${i}`);
  let updates = 0;
  const timer = setInterval(() => {
    for (const id of ids) {
      db.setSnapshot(id, { temperature: 20 + Math.random(), at: Date.now() });
      updates++;
    }
  }, 1000 / hz);
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  clearInterval(timer);
  await db.close();
  const { writes, bytesWritten } = db.stats;
  const docBytes = writes === 0 ? 0 : bytesWritten / writes;
  const perMinute = 60 / seconds;
  return {
    updates,
    writes,
    bytesPerMinute: Math.round(bytesWritten * perMinute),
    writesPerMinute: Math.round(writes * perMinute),
    naiveBytesPerMinute: Math.round(updates * docBytes * perMinute),
  };
}
