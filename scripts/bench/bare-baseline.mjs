// The bare Node baseline of issue 12's boot and memory rows, run with plain `node` (no tsx, no bundle): what any
// Node daemon holding one worker thread must cost. It starts one idle worker thread and waits for its first
// message; with `--listen PATH` it then listens on a Unix socket (the daemon's control socket); with
// NOTIFY_SOCKET set it then sends READY=1 through the sd_notify addon the daemon itself uses (`--addon FILE`,
// sd_notify(3)); then it prints "ready". Each stdin line "workers N" starts N more idle workers, waits for the
// first message of each and prints "workers <total>" (the per-agent memory row).
//
//   node scripts/bench/bare-baseline.mjs [--listen PATH] [--addon FILE]
import { createRequire } from 'node:module';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';

const { values } = parseArgs({ options: { listen: { type: 'string' }, addon: { type: 'string' } } });

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
