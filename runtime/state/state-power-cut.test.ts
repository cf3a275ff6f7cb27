// A real crash: a child process saves state in a tight loop and is SIGKILLed at a random moment, several times in
// a row on the same file. Every time, the next boot must load the state file (or its backup) — never start fresh
// — and must report the previous run as interrupted. (SIGKILL loses no page cache; what a power cut loses on
// top of that is modelled in runtime/durable-file-power-cut.test.ts.)
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { StateDb } from './state-db.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');
const writer = path.join(here, 'fixtures', 'state-writer.ts');
const ROUNDS = 6;

interface Ready {
  ready: true;
  boot: { abnormal: boolean; bootCount: number };
  saved: number;
  recovery: { source: string; reason?: string };
}

async function runAndKill(file: string, round: number, killAfterMs: number): Promise<Ready> {
  const child = spawn(process.execPath, ['--import', 'tsx', writer, file, String(round)], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => void (stderr += d.toString()));
  const exited = once(child, 'exit');
  try {
    const lines = createInterface({ input: child.stdout });
    const first = await Promise.race([
      once(lines, 'line').then(([line]) => line as string),
      exited.then(() => {
        throw new Error(`writer exited before it was ready: ${stderr}`);
      }),
    ]);
    await new Promise((resolve) => setTimeout(resolve, killAfterMs));
    child.kill('SIGKILL');
    const [, signal] = await exited;
    if (signal !== 'SIGKILL') throw new Error(`writer ended by ${String(signal)} before the kill: ${stderr}`);
    return JSON.parse(first) as Ready;
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

t.test('SIGKILL mid-write, repeatedly: the state always loads, and the kill is noticed', async (t) => {
  const file = path.join(t.testdir(), 'state.json');
  const delays: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const killAfterMs = 20 + Math.floor(Math.random() * 250);
    delays.push(killAfterMs);
    const ready = await runAndKill(file, round, killAfterMs);
    if (round === 1) {
      t.same(ready.recovery, { source: 'fresh' }, 'round 1 starts on an empty folder');
      t.equal(ready.boot.abnormal, false);
    } else {
      t.not(ready.recovery.source, 'fresh', `round ${round}: booted from the ${ready.recovery.source}`);
      t.equal(ready.boot.abnormal, true, `round ${round}: the previous SIGKILL is detected`);
      t.equal(ready.boot.bootCount, round, `round ${round}: no boot was lost`);
    }

    // What the next boot will see, checked from here without writing anything.
    const db = await StateDb.open({ file });
    t.not(db.recovery.source, 'fresh', `after kill ${round} (+${killAfterMs} ms): loads from the ${db.recovery.source}${db.recovery.reason ? ` (${db.recovery.reason})` : ''}`);
    const snap = db.getSnapshot('writer') as { round: number; i: number; n: number; payload: string } | undefined;
    t.ok(snap !== undefined && snap.round === round && snap.i >= ready.saved, `after kill ${round}: this round's state, save #${snap?.i}`);
    t.equal(snap?.payload.length, snap?.n, `after kill ${round}: the payload is whole`);
    t.equal(db.journal.cleanShutdown, false);
    await db.close();
    t.equal(db.stats.writes, 0, 'the check itself wrote nothing');
  }
  t.comment(`kill delays (ms): ${delays.join(', ')}`);
});
