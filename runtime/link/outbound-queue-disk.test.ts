// The outbound queue on a disk that fills up (a real 1 MiB tmpfs, ENOSPC from the kernel; tmpfs(5)):
// it keeps every message in memory, leaves no partial copy of its file, and once space is freed a full
// rewrite — tried every 30 s on the injected clock — brings the file back, so a reopen finds everything.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { requirePart } from '../../scripts/testing/system-deps.ts';
import { ManualClock } from '../manual-clock.ts';
import { OutboundQueue } from './outbound-queue.ts';

/** A 1 MiB tmpfs mounted for the test (root only), unmounted and removed at its end; undefined when skipped. */
function tmpfs(t: Test, options: string): string | undefined {
  if (!requirePart(t, process.getuid?.() === 0, 'mounting a tmpfs needs root (CAP_SYS_ADMIN): run as root, as CI does')) return undefined;
  // Not t.testdir(): tap would remove it before this test's teardown unmounts the tmpfs inside.
  const scratch = mkdtempSync(path.join(tmpdir(), 'os-queue-disk-'));
  const mnt = path.join(scratch, 'mnt');
  mkdirSync(mnt);
  execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', mnt]);
  t.teardown(() => {
    execFileSync('umount', ['-l', mnt]);
    rmSync(scratch, { recursive: true, force: true });
  });
  return mnt;
}

t.test('a read-only file system without the queue folder: an empty queue in memory, nothing written', async (t) => {
  const mnt = tmpfs(t, 'size=1m,ro');
  if (mnt === undefined) return;
  const q = await OutboundQueue.open({ dir: path.join(mnt, 'home', 'mqtt-queue'), clock: new ManualClock() });
  t.teardown(() => q.close());
  t.match(q.stats().persistError, /read-only/);
  q.push('p/out/n', Buffer.from('kept in memory'));
  t.same(q.peekAfter(0, 10).map((m) => m.payload.toString()), ['kept in memory']);
  t.same(readdirSync(mnt), [], 'nothing created');
});

t.test('a full disk: messages kept in memory, the file rewritten once space is back', async (t) => {
  const mnt = tmpfs(t, 'size=1m');
  if (mnt === undefined) return;
  const filler = path.join(mnt, 'filler');
  writeFileSync(filler, Buffer.alloc(1024 * 1024 - 64 * 1024));
  const dir = path.join(mnt, 'queue');
  const clock = new ManualClock();
  const q = await OutboundQueue.open({ dir, clock });
  const payload = Buffer.alloc(1024, 7);
  for (let i = 0; i < 200; i++) {
    q.push('p/out/n', Buffer.concat([Buffer.from(`${i}:`), payload]));
    if (i % 10 === 9) await Promise.resolve(); // one group-committed write per ten
  }
  await new Promise((r) => setImmediate(r));
  t.match(q.stats().persistError, /ENOSPC|no space/, `the disk filled up: ${q.stats().persistError}`);
  t.equal(q.size, 200, 'every message still queued, in memory');
  let n = 200;
  const push = () => q.push('p/out/n', Buffer.from(`${n++}:after`));

  push();
  await new Promise((r) => setTimeout(r, 200));
  t.same(readdirSync(dir), ['outbound.log'], 'no rewrite tried at once');
  clock.advance(30_000);
  push(); // a rewrite is due: it fails too, the disk is still full, and removes its partial copy
  await new Promise((r) => setTimeout(r, 500));
  t.same(readdirSync(dir), ['outbound.log'], 'the failed rewrite left no partial copy');
  t.ok(q.stats().persistError, 'still failing');

  rmSync(filler); // space is back: the next due rewrite succeeds
  for (let i = 0; i < 40 && q.stats().persistError !== undefined; i++) {
    clock.advance(30_000);
    push();
    await new Promise((r) => setTimeout(r, 50));
  }
  t.equal(q.stats().persistError, undefined, 'a rewrite succeeded and cleared the error, before close');
  t.ok(q.stats().compactions >= 1);
  push(); // appended to the new file
  await q.close();

  const again = await OutboundQueue.open({ dir, clock });
  t.teardown(() => again.close());
  const got = again.peekAfter(0, 1000).map((m) => Number(m.payload.toString().split(':')[0]));
  t.same(got, Array.from({ length: n }, (_, i) => i), `a reopen finds all ${n}, in order`);
});
