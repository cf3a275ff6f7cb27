// heap-hygiene.ts: the host collects at the usage question once the heap grew past the step, without a V8 flag,
// and agent code never reaches V8's gc. The unit part drives the policy with figures; the worker part runs a real agent that
// makes old-generation garbage at a steady rate (what a 10 Hz sensor agent does, faster) in a real worker.
import { loadBlueprint } from '../../design/blueprint.ts';
import t from 'tap';
import type { LogNote } from '../../core/channel-messages.ts';
import { WorkerDriver } from '../worker/worker-driver.ts';
import { HYGIENE_MIN_STEP, heapHygiene, hideGc, measureCollector } from './heap-hygiene.ts';

const MB = 2 ** 20;

t.test('policy: no collection until the heap grew past max(2 MiB, live / 4) since the lowest seen', async (t) => {
  let used = 10 * MB;
  let collections = 0;
  const read = () => ({ used_heap_size: used });
  const check = heapHygiene(read, async () => {
    collections += 1;
    used = 11 * MB; // what is live
  });
  t.equal((await check()).used_heap_size, 10 * MB, 'the first figure is taken as live');
  used = 10 * MB + HYGIENE_MIN_STEP;
  await check();
  t.equal(collections, 0, 'growth of 2 MiB on 10 MiB live: below a quarter (2.5 MiB)');
  used = 13 * MB;
  t.equal((await check()).used_heap_size, 11 * MB, 'past the step: collected, and the figure after the collection is reported');
  t.equal(collections, 1);
  used = 9 * MB;
  await check();
  used = 11 * MB;
  await check();
  t.equal(collections, 1, 'a lower heap (V8 collected by itself) lowers the base; 2 MiB above 9 MiB is not past the step');
  used = 11.5 * MB;
  await check();
  t.equal(collections, 2, '2.5 MiB above it is');
  used = 20 * MB;
  t.equal((await heapHygiene(read, undefined)()).used_heap_size, 20 * MB, 'without a collector the figures pass through');
});

t.test('hideGc takes gc off a global and leaves it unusable', async (t) => {
  const global: Record<string, unknown> = {};
  Object.defineProperty(global, 'gc', { value: () => 0, writable: true, enumerable: true, configurable: false });
  hideGc(global);
  t.equal(global.gc, undefined, 'the global holds undefined');
  t.throws(() => { 'use strict'; global.gc = () => 0; }, TypeError, 'and cannot be given a function again');
  const none: Record<string, unknown> = {};
  hideGc(none);
  t.notOk('gc' in none, 'no gc on the global: nothing is defined');
});

t.test('measureCollector asks node:vm for an eager measurement and waits for it', async (t) => {
  const asked: unknown[] = [];
  let settled = false;
  const collect = measureCollector({
    measureMemory: async (options) => {
      asked.push(options);
      await new Promise((r) => setImmediate(r));
      settled = true;
      return { total: {} };
    },
  });
  await collect();
  t.same(asked, [{ mode: 'summary', execution: 'eager' }]);
  t.ok(settled, 'the collection is over when the collector resolves');
});

t.test('the worker driver sets no V8 flag: a worker created after it accepts Node\'s built-in code cache', async (t) => {
  // A flag set after start changes V8's flag hash, and Node then rejects the cache of every internal module the next
  // worker loads (issue 12). Node 20.x reports each rejection under NODE_DEBUG_NATIVE=CODE_CACHE.
  const { spawnSync } = await import('node:child_process');
  const probe = `import { WorkerDriver } from ${JSON.stringify(new URL('../worker/worker-driver.ts', import.meta.url).href)};
    import { Worker } from 'node:worker_threads';
    await new WorkerDriver().close();
    const w = new Worker("require('node:worker_threads').parentPort.postMessage('up')", { eval: true, execArgv: [] });
    w.once('message', () => w.terminate());`;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', probe], { env: { ...process.env, NODE_DEBUG_NATIVE: 'CODE_CACHE' }, encoding: 'utf8' });
  t.equal(run.status, 0, run.stderr.slice(-600));
  // The worker's own entry module is compiled after the driver was made: its cache line is the one that counts.
  t.match(run.stderr, /Code cache of internal\/main\/worker_thread \S+ is accepted/, 'Node reports its code cache (a build without that debug output would prove nothing)');
  t.notMatch(run.stderr, /is rejected/, 'no code cache rejected');
});

t.test('a real worker agent: the garbage it promotes steadily is collected at usage questions, and its code sees no gc', async (t) => {
  const dir = t.testdir({
    'agent.json': JSON.stringify({ id: 'churn', version: '1.0.0', plugins: ['./main.js'], limits: { memoryMb: 64 } }),
    // What a busy sensor agent does, faster: objects that live about a second (a pending call, a queued reading),
    // ~2 MB a second of them. They outlive the scavenges of their time, so they are promoted to the old generation
    // and die there, which V8 leaves until the old generation reaches its allocation limit.
    'main.js': `export default { name: 'churn', start(ctx) {
      ctx.log.info('gc', { type: typeof globalThis.gc });
      const ring = [];
      this.t = setInterval(() => { ring.push(Array.from({ length: 12000 }, (_, j) => ({ j }))); if (ring.length > 4) ring.shift(); }, 250);
    }, stop() { clearInterval(this.t); } };`,
  });
  const driver = new WorkerDriver();
  const isolate = await driver.start({ pid: '9', blueprint: await loadBlueprint(`${dir}/agent.json`), env: { OPENSTARRY_AGENT_ID: 'churn', OPENSTARRY_HOME: dir } });
  t.teardown(() => isolate.terminate());
  const logs: LogNote[] = [];
  isolate.channel.onNote('log', (p) => logs.push(p as LogNote));
  const samples: { ms: number; mb: number }[] = [];
  const t0 = Date.now();
  for (let i = 0; i < 20; i++) {
    samples.push({ ms: Date.now() - t0, mb: ((await isolate.usage()).memoryBytes ?? 0) / MB });
    await new Promise((r) => setTimeout(r, 250));
  }
  const shown = samples.map((s) => s.mb.toFixed(1)).join(' ');
  t.same(logs.find((l) => l.message === 'gc')?.fields, { type: 'undefined' }, 'agent code finds no gc on its global');
  const notes = logs.filter((l) => l.level === 'debug' && l.message.startsWith('heap: collected')).map((l) => l.message);
  const freed = notes.map((m) => Number(/collected ([\d.]+) MB/.exec(m)?.[1] ?? 0));
  t.ok(freed.some((mb) => mb >= 1.5), `the host collected garbage at a usage question: ${JSON.stringify(notes)} (memory in MB every 250 ms: ${shown})`);
  t.ok(notes.length < samples.length / 2, `and not at every question (${notes.length} of ${samples.length})`);
});
