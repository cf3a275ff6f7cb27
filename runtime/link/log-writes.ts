/**
 * The two low-level pieces of the outbound queue's group commit (outbound-queue.ts, "Group commit"): writing a run's
 * frames with one writev(2), and writing whatever is still pending when the process exits before the flush microtask
 * (an uncaught exception, process.exit()).
 */
import fs from 'node:fs';

/** Linux's UIO_MAXIOV: writev(2) takes at most this many buffers at once. */
const IOV_MAX = 1024;

/** writev(2) of all frames, looping over short writes (a write(2) to a regular file may write less than asked). */
export function writeAll(fd: number, frames: Buffer[]): void {
  let rest = frames;
  while (rest.length > 0) {
    let written = fs.writevSync(fd, rest.length > IOV_MAX ? rest.slice(0, IOV_MAX) : rest);
    let i = 0;
    while (i < rest.length && written >= (rest[i] as Buffer).length) written -= (rest[i++] as Buffer).length;
    rest = rest.slice(i);
    if (written > 0) rest[0] = (rest[0] as Buffer).subarray(written);
  }
}

interface Flushable {
  flush(): void;
}

const pending = new Set<Flushable>();
let hooked = false;

/** Queues with frames not yet written: flushed synchronously by one process 'exit' hook, installed on first use. */
export const flushOnExit = {
  add(q: Flushable): void {
    pending.add(q);
    if (hooked) return;
    hooked = true;
    process.on('exit', () => {
      for (const each of [...pending]) each.flush();
    });
  },
  delete(q: Flushable): void {
    pending.delete(q);
  },
};
