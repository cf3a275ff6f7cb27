// DurableTextFile on the real file system: the write sequence, the backup rule, a process crash at every step,
// and the errors it raises. (What a power cut keeps is modelled in durable-file-power-cut.test.ts.)
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { Low } from 'lowdb';
import { ErrorCode, OpenStarryError } from './errors.ts';
import { DurableTextFile, nodeDurableFs } from './durable-file.ts';
import type { DurableFs } from './durable-file.ts';

/** The real fs, except that operation number `crashAt` and every later one throw, as in a process that died. */
function crashingFs(crashAt: number): DurableFs & { ops: string[] } {
  const ops: string[] = [];
  const step = (op: string): void => {
    if (ops.length >= crashAt) throw Object.assign(new Error(`crashed before ${op}`), { code: 'EIO' });
    ops.push(op);
  };
  return {
    ops,
    readFile: (f, e) => (step(`readFile ${path.basename(f)}`), nodeDurableFs.readFile(f, e)),
    open: async (f, flags) => {
      step(`open ${path.basename(f)}`);
      const h = await nodeDurableFs.open(f, flags);
      return {
        writeFile: (d, e) => (step('write'), h.writeFile(d, e)),
        sync: () => (step('fsync'), h.sync()),
        close: () => h.close(), // the kernel closes a dead process's files
      };
    },
    rename: (a, b) => (step(`rename ${path.basename(a)}`), nodeDurableFs.rename(a, b)),
    link: (a, b) => (step('link'), nodeDurableFs.link(a, b)),
    unlink: (f) => (step(`unlink ${path.basename(f)}`), nodeDurableFs.unlink(f)),
  };
}

t.test('write then read; a missing file reads as null', async (t) => {
  const file = new DurableTextFile(path.join(t.testdir(), 'state.json'));
  t.equal(await file.read(), null);
  t.equal(await file.readBackup(), null);
  await file.write('{"a":1}');
  t.equal(await file.read(), '{"a":1}');
  t.equal(await file.readBackup(), null, 'nothing good existed before the first write');
  await file.write('{"a":2}');
  t.equal(await file.readBackup(), '{"a":1}', 'the previous version became the backup');
  t.same(file.stats, { writes: 2, bytesWritten: 14, backupFailures: 0 });
});

t.test('leaves only the state file and its backup behind', async (t) => {
  const dir = t.testdir();
  const file = new DurableTextFile(path.join(dir, 'state.json'));
  for (let i = 0; i < 3; i++) await file.write(`{"i":${i}}`);
  t.same((await readdir(dir)).sort(), ['state.json', 'state.json.bak']);
});

t.test('works as a lowdb adapter', async (t) => {
  const file = path.join(t.testdir(), 'db.json');
  const db = new Low<string>(new DurableTextFile(file), '');
  db.data = '{"hello":"lowdb"}';
  await db.write();
  const again = new Low<string>(new DurableTextFile(file), '');
  await again.read();
  t.equal(again.data, '{"hello":"lowdb"}');
});

t.test('concurrent writes run one at a time, in call order', async (t) => {
  const file = new DurableTextFile(path.join(t.testdir(), 'state.json'));
  await Promise.all([file.write('1'), file.write('2'), file.write('3')]);
  t.equal(await file.read(), '3');
  t.equal(await file.readBackup(), '2');
});

t.test('a process crash at any step leaves the old or the new file, and a good backup', async (t) => {
  const probeDir = t.testdir();
  const probeFs = crashingFs(Infinity);
  const probe = new DurableTextFile(path.join(probeDir, 'state.json'), { fs: probeFs });
  await probe.write('v1');
  await probe.write('v2');
  const before = probeFs.ops.length;
  await probe.write('v3');
  const steps = probeFs.ops.length - before;

  for (let crash = 0; crash <= steps; crash++) {
    const dir = path.join(probeDir, `crash-${crash}`);
    const fs = crashingFs(Infinity);
    const file = new DurableTextFile(path.join(dir, 'state.json'), { fs });
    await mkdir(dir);
    await file.write('v1');
    await file.write('v2');
    const crashing = crashingFs(crash);
    const dying = new DurableTextFile(path.join(dir, 'state.json'), { fs: crashing });
    dying.markCurrentValid(true);
    const result = await dying.write('v3').then(
      () => 'completed',
      (err: unknown) => (err instanceof OpenStarryError ? err.code : 'other'),
    );
    t.ok(result === 'completed' || result === ErrorCode.STATE_IO, `crash before step ${crash}: ${result}`);
    const main = await readFile(path.join(dir, 'state.json'), 'utf8');
    t.ok(main === 'v2' || main === 'v3', `crash before step ${crash}: state.json is ${main}`);
    const bak = await readFile(path.join(dir, 'state.json.bak'), 'utf8');
    t.ok(bak === 'v1' || bak === 'v2', `crash before step ${crash}: .bak is ${bak}`);
    // The next run writes over whatever temp files the crash left.
    const next = new DurableTextFile(path.join(dir, 'state.json'));
    next.markCurrentValid(true);
    await next.write('v4');
    t.equal(await readFile(path.join(dir, 'state.json'), 'utf8'), 'v4');
    t.equal(await readFile(path.join(dir, 'state.json.bak'), 'utf8'), main);
  }
});

t.test('a failed write is ERR_STATE_IO with the cause kept', async (t) => {
  // The disk is full for the first write only: the second one must still run (the queue survives) and land.
  let diskFull = true;
  const full: DurableFs = {
    ...nodeDurableFs,
    open: async (f, flags) => {
      const h = await nodeDurableFs.open(f, flags);
      if (!diskFull) return h;
      return { ...h, writeFile: async () => Promise.reject(Object.assign(new Error('no space left on device'), { code: 'ENOSPC' })), sync: () => h.sync(), close: () => h.close() };
    },
  };
  const dir = t.testdir();
  const file = new DurableTextFile(path.join(dir, 'state.json'), { fs: full });
  const err = await file.write('x').catch((e: unknown) => e);
  t.ok(err instanceof OpenStarryError);
  t.equal((err as OpenStarryError).code, ErrorCode.STATE_IO);
  t.match((err as OpenStarryError).message, /no space left/);
  t.equal(((err as OpenStarryError).cause as NodeJS.ErrnoException).code, 'ENOSPC');
  diskFull = false;
  await t.resolves(file.write('y'), 'the queue survives a failed write');
  t.equal(await readFile(path.join(dir, 'state.json'), 'utf8'), 'y', 'the later write landed on disk');
});

t.test('a disk that fills up mid-write leaves no half-written temp file, and the state file as it was', async (t) => {
  const dir = t.testdir({ 'state.json': 'good' });
  const fillsUp: DurableFs = {
    ...nodeDurableFs,
    open: async (f, flags) => {
      const h = await nodeDurableFs.open(f, flags);
      const partial = async (text: string) => {
        await h.writeFile(text.slice(0, 3), 'utf8'); // part of it reached the card, then ENOSPC
        throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
      };
      return { ...h, writeFile: partial, sync: () => h.sync(), close: () => h.close() };
    },
  };
  const file = new DurableTextFile(path.join(dir, 'state.json'), { fs: fillsUp });
  file.markCurrentValid(true);
  await t.rejects(file.write('new content'), { code: ErrorCode.STATE_IO });
  t.same((await readdir(dir)).sort(), ['state.json'], 'no state.json.tmp left behind');
  t.equal(await readFile(path.join(dir, 'state.json'), 'utf8'), 'good');
});

t.test('a file system that cannot fsync a directory still gets its write', async (t) => {
  for (const code of ['EISDIR', 'EINVAL']) {
    const fs: DurableFs = {
      ...nodeDurableFs,
      open: async (f, flags) => {
        if (flags === 'r') throw Object.assign(new Error(code), { code });
        return nodeDurableFs.open(f, flags);
      },
    };
    const file = new DurableTextFile(path.join(t.testdir(), 'state.json'), { fs });
    await file.write('ok');
    t.equal(await file.read(), 'ok', code);
  }
});

t.test('a failing backup does not block the write', async (t) => {
  const dir = t.testdir();
  const fs: DurableFs = { ...nodeDurableFs, link: async () => Promise.reject(Object.assign(new Error('I/O error'), { code: 'EIO' })) };
  const file = new DurableTextFile(path.join(dir, 'state.json'), { fs });
  await file.write('v1');
  await file.write('v2');
  t.equal(await file.read(), 'v2');
  t.equal(await file.readBackup(), null);
  t.equal(file.stats.backupFailures, 1);
});

t.test('a read error other than ENOENT is thrown', async (t) => {
  const fs: DurableFs = { ...nodeDurableFs, readFile: async () => Promise.reject(Object.assign(new Error('permission denied'), { code: 'EACCES' })) };
  const file = new DurableTextFile(path.join(t.testdir(), 'state.json'), { fs });
  await t.rejects(file.read(), { code: 'EACCES' });
});

t.test('a stale temp file from a crash is overwritten, not appended to', async (t) => {
  const dir = t.testdir();
  await writeFile(path.join(dir, 'state.json.tmp'), 'garbage that is longer than the new content');
  const file = new DurableTextFile(path.join(dir, 'state.json'));
  await file.write('new');
  t.equal(await readFile(path.join(dir, 'state.json'), 'utf8'), 'new');
});
