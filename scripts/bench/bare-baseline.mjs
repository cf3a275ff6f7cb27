// The bare Node baseline of issue 12's boot and memory rows, run with plain `node` (no tsx, no bundle): what any
// Node daemon holding one worker thread must cost. It starts one idle worker thread and waits for its first
// message; with `--listen PATH` it then listens on a Unix socket (the daemon's control socket); with
// NOTIFY_SOCKET set it then sends READY=1 through the sd_notify addon the daemon itself uses (`--addon FILE`,
// sd_notify(3)); then it prints "ready". Each stdin line "workers N" starts N more idle workers, waits for the
// first message of each and prints "workers <total>" (the per-agent memory row). With --jit-once it first makes one
// small function hot enough for V8 to optimize it (TurboFan, twice in practice: see `node --trace-opt`), as any
// process that does work soon does: the idle-RSS row shows the daemon beside that too, because the optimizing
// compiler's own cost (its code paged in from the node binary, its zone memory) is ~6 MB that an idle bare node
// never pays (README "Performance").
//
//   node scripts/bench/bare-baseline.mjs [--listen PATH] [--addon FILE] [--jit-once]
import { createRequire } from 'node:module';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';

const { values } = parseArgs({ options: { listen: { type: 'string' }, addon: { type: 'string' }, 'jit-once': { type: 'boolean' } } });

if (values['jit-once']) {
  const hash = (s) => {
    let h = 0;
    for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0;
    return h;
  };
  let sum = 0;
  for (let i = 0; i < 20_000; i++) sum += hash(`abcdefghijklmnop${i}`);
  globalThis.jitOnce = sum;
}

// An idle worker: a timer keeps its event loop alive, as an idle agent's would.
const IDLE = "require('node:worker_threads').parentPort.postMessage('up'); setInterval(() => {}, 2 ** 30);";
const workers = [];
async function startWorker() {
  const w = new Worker(IDLE, { eval: true });
  await new Promise((resolve, reject) => w.once('message', resolve).once('error', reject));
  workers.push(w);
}

await startWorker();
if (values.listen) {
  const server = net.createServer((socket) => socket.end());
  await new Promise((resolve, reject) => server.once('error', reject).listen(values.listen, resolve));
}
if (process.env.NOTIFY_SOCKET) {
  if (!values.addon) throw new Error('NOTIFY_SOCKET is set but no --addon FILE was given');
  const errno = createRequire(import.meta.url)(values.addon).send(process.env.NOTIFY_SOCKET, 'READY=1');
  if (errno !== 0) throw new Error(`sd_notify READY=1 to ${process.env.NOTIFY_SOCKET}: errno ${errno}`);
}
console.log('ready');
createInterface({ input: process.stdin }).on('line', async (line) => {
  const more = /^workers (\d+)$/.exec(line.trim());
  if (!more) return;
  for (let i = 0; i < Number(more[1]); i++) await startWorker();
  console.log(`workers ${workers.length}`);
});
process.once('SIGTERM', () => process.exit(0));
