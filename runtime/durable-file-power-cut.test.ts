// DurableTextFile against a model of what a power cut keeps (power-cut-fs.test-support.ts): crash the process at
// every step of a write, then cut the power with every possible subset of the un-fsynced directory changes kept.
// The state file must always be a complete old or new version, and the backup a complete earlier one.
import t from 'tap';
import { DurableTextFile } from './durable-file.ts';
import type { DurableFs } from './durable-file.ts';
import { PowerCutFs } from './state/power-cut-fs.test-support.ts';

const DIR = '/state';
const FILE = `${DIR}/state.json`;
const V1 = '{"v":1}\n';
const V2 = '{"v":2,"pad":"xxxxxxxx"}\n';
const V3 = '{"v":3,"pad":"yyyyyyyyyyyyyyyy"}\n';

/** A board that has written V1 then V2 and was rebooted cleanly: state.json = V2, state.json.bak = V1. */
async function boardWithTwoVersions(make: () => PowerCutFs = () => new PowerCutFs(DIR)): Promise<PowerCutFs> {
  const fs = make();
  const file = new DurableTextFile(FILE, { fs });
  await file.write(V1);
  await file.write(V2);
  return fs.powerCut(fs.pendingDirOps); // everything was fsynced: nothing pending, nothing lost
}

/** After a reboot: what the state DB would do — read, validate, accept. */
async function reboot(fs: DurableFs): Promise<DurableTextFile> {
  const file = new DurableTextFile(FILE, { fs });
  file.markCurrentValid((await file.read()) !== null);
  return file;
}

t.test('a completed write is durable: nothing is left pending after it', async (t) => {
  const fs = new PowerCutFs(DIR);
  const file = new DurableTextFile(FILE, { fs });
  await file.write(V1);
  t.equal(fs.pendingDirOps, 0, 'the directory fsync made the rename durable');
  const after = fs.powerCut();
  t.equal(await after.readFile(FILE), V1);
});

t.test('crash at every step of a write, then a power cut keeping any prefix of the directory changes', async (t) => {
  const probe = await boardWithTwoVersions();
  const probeFile = await reboot(probe);
  const opsBefore = probe.ops.length;
  await probeFile.write(V3);
  const steps = probe.ops.length - opsBefore;
  t.ok(steps >= 8, `a write is ${steps} operations: ${probe.ops.slice(opsBefore).join(', ')}`);

  let cases = 0;
  for (let crash = 0; crash <= steps; crash++) {
    const fs = await boardWithTwoVersions();
    const file = await reboot(fs);
    fs.crashAt(crash);
    const outcome = await file.write(V3).then(
      () => 'done',
      (err: NodeJS.ErrnoException) => err.message,
    );
    for (let prefix = 0; prefix <= fs.pendingDirOps; prefix++) {
      cases++;
      const after = fs.powerCut(prefix);
      const label = `crash before op ${crash} (${outcome === 'done' ? 'completed' : 'failed'}), ${prefix}/${fs.pendingDirOps} dir changes kept`;
      const main = await after.readFile(FILE);
      t.ok(main === V2 || main === V3, `${label}: state.json is a whole version`);
      const bak = await after.readFile(`${FILE}.bak`);
      t.ok(bak === V1 || bak === V2, `${label}: .bak is a whole earlier version`);
      // And the board goes on working: stale temp files do not get in the next write's way.
      const next = await reboot(after);
      await next.write('{"v":4}\n');
      t.equal(await after.readFile(FILE), '{"v":4}\n', `${label}: next write works`);
      t.equal(await after.readFile(`${FILE}.bak`), main, `${label}: and backs up what was there`);
    }
  }
  t.ok(cases > steps, `${cases} crash/power-cut combinations checked`);
});

t.test('control: the model catches a writer that skips fsync (steno-style temp + rename)', async (t) => {
  // Without this, a model too lenient to ever fail would make the test above meaningless.
  const fs = await boardWithTwoVersions();
  const tmp = `${FILE}.tmp`;
  const handle = await fs.open(tmp, 'w');
  await handle.writeFile(V3, 'utf8');
  await handle.close();
  await fs.rename(tmp, FILE);
  const after = fs.powerCut(fs.pendingDirOps); // the journal committed the rename, the data never reached the card
  t.equal(await after.readFile(FILE), '', 'the zero-length state file of a real power cut');
});

t.test('a file that was never validated is not promoted to backup', async (t) => {
  const fs = await boardWithTwoVersions();
  const file = new DurableTextFile(FILE, { fs }); // read, found corrupt: the caller does not mark it valid
  await file.write(V3);
  t.equal(await fs.readFile(`${FILE}.bak`), V1, 'the older good backup survives');
  await file.write('{"v":4}\n');
  t.equal(await fs.readFile(`${FILE}.bak`), V3, 'what this object wrote is trusted');
});

t.test('without hard links (FAT) the backup is a synced copy, and the bytes count', async (t) => {
  const fs = await boardWithTwoVersions(() => new PowerCutFs(DIR).withoutHardLinks());
  const file = await reboot(fs);
  const before = fs.bytesWritten;
  await file.write(V3);
  t.equal(await fs.readFile(`${FILE}.bak`), V2);
  t.equal(fs.bytesWritten - before, V3.length + V2.length);
  t.equal(file.stats.bytesWritten, V3.length + V2.length, 'stats count the copy too');
  const after = fs.powerCut();
  t.equal(await after.readFile(`${FILE}.bak`), V2, 'the copy was fsynced before it was renamed into place');
});

t.test('with hard links the backup costs no data bytes', async (t) => {
  const fs = await boardWithTwoVersions();
  const file = await reboot(fs);
  const before = fs.bytesWritten;
  await file.write(V3);
  t.equal(fs.bytesWritten - before, V3.length);
  t.same(file.stats, { writes: 1, bytesWritten: V3.length, backupFailures: 0 });
});
