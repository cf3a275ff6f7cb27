// The wasm driver beyond the shared contract (wasm-contract.test.ts): the interrupt deadline, the memory cap, the
// sandbox (no require, fs, network or process), the web APIs the VM provides (timers, streams, TextEncoder), and
// the HAL service driving serial, actuators and watches of a QuickJS agent.
import t from 'tap';
import type { Test } from 'tap';
import * as z from 'zod';
import type { BusProvider, DeviceDriverDefinition, IDevice } from '../../../drivers/device.ts';
import { DeviceRegistry } from '../../../hal/device-registry.ts';
import { FakeInput, FakeRelay, FakeSerial } from '../../../hal/fake-devices.test-support.ts';
import { HalService } from '../../../hal/hal-service.ts';
import { systemClock } from '../../clock.ts';
import type { LifecycleNote, LogNote } from '../../core/channel-messages.ts';
import { loadBlueprint } from '../../design/blueprint.ts';
import { silentLogger } from '../../logging/logger.ts';
import type { IIsolate, IsolateOutput } from '../isolation-driver.ts';
import { WasmDriver } from './wasm-driver.ts';

const driver = new WasmDriver({ deadlineMs: 300 });
let nextPid = 1;

interface Started {
  isolate: IIsolate;
  first: Promise<LifecycleNote>;
  logs: LogNote[];
  output: IsolateOutput[];
  logged(match: RegExp): Promise<LogNote>;
}

async function start(t: Test, main: string, manifest: Record<string, unknown> = {}, hal?: HalService, capabilities: string[] = []): Promise<Started> {
  const dir = t.testdir({ 'agent.json': JSON.stringify({ id: 'probe', version: '1.0.0', plugins: ['./main.js'], ...manifest }), 'main.js': main, lib: { 'util.js': 'export const two = 2;' } });
  const blueprint = await loadBlueprint(`${dir}/agent.json`);
  const pid = `w${nextPid++}`;
  hal?.admit(pid, 'probe', capabilities);
  const isolate = await driver.start({ pid, blueprint, env: { OPENSTARRY_AGENT_ID: 'probe', OPENSTARRY_HOME: '/tmp/probe' } });
  if (hal) {
    hal.attach(pid, isolate.channel);
    void isolate.exited.then(async () => {
      await hal.detach(pid);
      hal.release(pid);
    });
  }
  isolate.channel.handle('state.load', () => null);
  const logs: LogNote[] = [];
  const output: IsolateOutput[] = [];
  const waiters: { match: RegExp; resolve: (n: LogNote) => void }[] = [];
  let firstResolve: (n: LifecycleNote) => void = () => undefined;
  const first = new Promise<LifecycleNote>((r) => (firstResolve = r));
  isolate.channel.onNote('lifecycle', (p) => firstResolve(p as LifecycleNote));
  isolate.channel.onNote('log', (p) => {
    const note = p as LogNote;
    logs.push(note);
    for (const w of waiters.filter((x) => x.match.test(note.message))) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(note);
    }
  });
  isolate.onOutput((o) => output.push(o));
  t.teardown(() => isolate.terminate());
  const logged = (match: RegExp) => {
    const seen = logs.find((l) => match.test(l.message));
    return seen ? Promise.resolve(seen) : new Promise<LogNote>((resolve) => waiters.push({ match, resolve }));
  };
  return { isolate, first, logs, output, logged };
}

t.test('a busy loop is ended by the interrupt deadline while the daemon thread keeps running', async (t) => {
  const a = await start(t, "export default { name: 'spin', start(ctx) { setTimeout(() => { ctx.log.info('spinning'); for (;;) {} }, 1); } };");
  t.same(await a.first, { state: 'running' });
  await a.logged(/spinning/);
  let ticks = 0;
  let ticking = true;
  const tick = () => {
    ticks += 1;
    if (ticking) setImmediate(tick);
  };
  tick();
  const exit = await a.isolate.exited;
  ticking = false;
  t.equal(exit.cause, 'uncaught-error');
  t.equal(exit.error?.code, 'ERR_WASM_DEADLINE');
  t.match(exit.error?.message, /ran for more than 300 ms without yielding/);
  t.ok(ticks > 1, `this thread's event loop ran meanwhile (${ticks} turns)`);
});

t.test('a busy loop inside start() and one that catches the interrupt are ended too', async (t) => {
  const a = await start(t, "export default { name: 'spin', start() { try { for (;;) {} } catch (e) { for (;;) {} } } };");
  const exit = await a.isolate.exited;
  t.equal(exit.error?.code, 'ERR_WASM_DEADLINE', 'the interrupt cannot be caught');
  const b = await start(t, "export default { name: 'spin', async start(ctx) { const spin = async () => { for (;;) {} }; try { await spin(); } catch (e) { ctx.log.info('swallowed ' + e); this.t = setInterval(() => {}, 1000); } } };");
  const exitB = await b.isolate.exited;
  t.equal(exitB.error?.code, 'ERR_WASM_DEADLINE', 'nor swallowed as the rejection of an async function');
});

t.test('a memory bomb that catches the out-of-memory error still ends as out-of-memory', async (t) => {
  const a = await start(t, "export default { name: 'bomb', start(ctx) { const hog = []; try { for (;;) hog.push(new ArrayBuffer(64 * 1024)); } catch (e) { ctx.log.info('caught ' + e); } } };", { limits: { memoryMb: 24 } });
  const exit = await a.isolate.exited;
  t.equal(exit.cause, 'out-of-memory');
  t.equal(exit.error?.code, 'ERR_WASM_OUT_OF_MEMORY');
  t.match(exit.error?.message, /24 MB/);
});

t.test('no require, fs, network or process: absent, or refused with ERR_ISOLATE_DENIED', async (t) => {
  const a = await start(t, `export default { name: 'p', async start(ctx) {
    const out = {};
    for (const g of ['fetch', 'XMLHttpRequest', 'WebSocket', 'Deno', 'Bun', 'std', 'os', 'Atomics', 'WebAssembly']) out[g] = typeof globalThis[g];
    out.processKeys = Object.keys(process).sort();
    out.envKeys = Object.keys(process.env).sort();
    out.frozen = Object.isFrozen(process) && Object.isFrozen(process.env);
    const name = ['f', 's'].join('');
    try { require(name); out.require = 'ALLOWED'; } catch (e) { out.require = String(e.message); }
    for (const spec of [name, 'node:net', 'node:child_process', './lib/util.js']) {
      try { const m = await import(spec); out[spec] = 'LOADED ' + Object.keys(m); } catch (e) { out[spec] = e.code; }
    }
    const lib = await import('./lib/util.js');
    out.literal = lib.two;
    ctx.log.info('probe', out);
  } };`);
  t.same(await a.first, { state: 'running' });
  const fields = (await a.logged(/^probe$/)).fields ?? {};
  t.same(fields, {
    fetch: 'undefined', XMLHttpRequest: 'undefined', WebSocket: 'undefined', Deno: 'undefined', Bun: 'undefined', std: 'undefined', os: 'undefined',
    Atomics: 'undefined', WebAssembly: 'undefined',
    processKeys: ['env', 'getBuiltinModule'],
    envKeys: ['OPENSTARRY_AGENT_ID', 'OPENSTARRY_HOME'],
    frozen: true,
    require: 'Dynamic require of "fs" is not supported',
    fs: 'ERR_ISOLATE_DENIED', 'node:net': 'ERR_ISOLATE_DENIED', 'node:child_process': 'ERR_ISOLATE_DENIED', './lib/util.js': 'ERR_ISOLATE_DENIED',
    literal: 2,
  }, 'computed specifiers are refused at run time; a literal template path is bundled');
});

for (const [what, code] of [
  ['require', "const fs = require('fs');"],
  ['a package', "import _ from 'lodash';"],
  ['a path outside the template', "import x from '../outside.js';"],
  ['an absolute path', "import x from '/etc/passwd';"],
  ['a missing file', "import x from './nope.js';"],
] as const) {
  t.test(`${what} is refused when the agent is bundled, naming the import`, async (t) => {
    const a = await start(t, `${code}\nexport default { name: 'p', start() {} };`);
    const note = await a.first;
    t.equal(note.state, 'crashed');
    t.equal(note.error?.code, 'ERR_ISOLATE_DENIED');
    t.match(note.error?.message, /from main\.js refused/);
    t.same(await a.isolate.exited, { code: 1, cause: 'exit' });
  });
}

t.test('a syntax error and a top-level throw are load failures (ERR_PLUGIN_INVALID)', async (t) => {
  const syntax = await start(t, 'export default { name: ');
  t.match(await syntax.first, { state: 'crashed', error: { code: 'ERR_PLUGIN_INVALID', message: /plugin bundle failed: main\.js:1/ } });
  const thrown = await start(t, "throw new Error('no config'); export default { name: 'p', start() {} };");
  t.match(await thrown.first, { state: 'crashed', error: { code: 'ERR_PLUGIN_INVALID', message: /plugin failed to load: no config/ } });
  const shape = await start(t, 'export default 42;');
  t.match(await shape.first, { state: 'crashed', error: { code: 'ERR_PLUGIN_INVALID', message: /main\.js: default export is not an object/ } });
});

t.test('timers: clearTimeout, setInterval, unref; top-level await; performance.now', async (t) => {
  const a = await start(t, `
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, 5));
    export default { name: 't', start(ctx) {
      const cancelled = setTimeout(() => ctx.log.info('MUST NOT FIRE'), 5); clearTimeout(cancelled);
      setTimeout(() => ctx.log.info('MUST NOT FIRE EITHER'), 60000).unref();
      let n = 0; const iv = setInterval((x) => { n += 1; if (n === 3) { clearInterval(iv); ctx.log.info('interval', { n, x, waited: performance.now() - t0 >= 5 }); } }, 2, 'arg');
      queueMicrotask(() => ctx.log.info('microtask'));
    } };`);
  t.same(await a.first, { state: 'running' });
  t.same(await a.isolate.exited, { code: 0, cause: 'exit' }, 'an unref()ed timer does not keep the agent alive');
  t.same(a.logs.map((l) => l.message), ['microtask', 'interval']);
  t.same(a.logs[1]?.fields, { n: 3, x: 'arg', waited: true });
});

t.test('web streams subset: pull only on demand with highWaterMark 0, ordered writes, for await, pipeTo', async (t) => {
  const a = await start(t, `export default { name: 's', async start(ctx) {
    let pulls = 0;
    const rs = new ReadableStream({ pull(c) { pulls += 1; c.enqueue(pulls); if (pulls === 3) c.close(); } }, { highWaterMark: 0 });
    await new Promise((r) => setTimeout(r, 5));
    const before = pulls;
    const got = []; for await (const v of rs) got.push(v);
    const written = [];
    const ws = new WritableStream({ async write(chunk) { await new Promise((r) => setTimeout(r, 1)); written.push(chunk); }, close() { written.push('closed'); } });
    const w = ws.getWriter(); w.write('a'); w.write('b'); await w.close();
    const piped = [];
    await new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode('héllo')); c.close(); } }).pipeTo(new WritableStream({ write(c) { piped.push(new TextDecoder().decode(c)); } }));
    let error;
    try { await new ReadableStream({ pull() { throw new Error('device gone'); } }).getReader().read(); } catch (e) { error = e.message; }
    ctx.log.info('streams', { before, got, written, piped, error, clone: structuredClone({ m: new Map([[1, 2]]).size, d: [1, { x: 2 }] }) });
  } };`);
  t.same((await a.logged(/^streams$/)).fields, { before: 0, got: [1, 2, 3], written: ['a', 'b', 'closed'], piped: ['héllo'], error: 'device gone', clone: { m: 1, d: [1, { x: 2 }] } });
});

async function fakeHal(t: Test) {
  const devices: Record<string, IDevice> = { fan: new FakeRelay('fan'), pir: new FakeInput('pir'), modem: new FakeSerial('modem') };
  const definition: DeviceDriverDefinition = { name: 'fake', kind: 'sensor', configSchema: z.object({}).passthrough(), create: async (id) => devices[id] as IDevice };
  const registry = await DeviceRegistry.build({
    sources: Object.keys(devices).map((id, i) => ({ where: `devices.${i}`, origin: 'config' as const, entry: { id, driver: 'fake' } })),
    drivers: new Map([['fake', definition]]),
    buses: {} as BusProvider,
    clock: systemClock,
    log: silentLogger,
  });
  t.teardown(() => registry.close());
  return { hal: new HalService(registry, systemClock, silentLogger), devices };
}

t.test('HAL from QuickJS: an actuator, a watch (edges delivered in), a serial port as web streams', async (t) => {
  const { hal, devices } = await fakeHal(t);
  const a = await start(t, `export default { name: 'h', async start(ctx) {
    await ctx.hal.controlActuator('fan', 'on');
    const port = await ctx.hal.openSerial('modem');
    const writer = port.writable.getWriter();
    await writer.write(new TextEncoder().encode('at+gps\\r\\n'));
    const { value } = await port.readable.getReader().read();
    ctx.log.info('serial', { reply: new TextDecoder().decode(value), isU8: value instanceof Uint8Array });
    await port.close();
    const stop = ctx.hal.watch('pir', (e) => { ctx.log.info('edge', { edge: e.edge }); stop(); });
    ctx.log.info('watching');
  } };`, {}, hal, ['actuator:fan:control', 'gpio:pir:watch', 'serial:modem:open']);
  t.same(await a.first, { state: 'running' });
  t.same((await a.logged(/^serial$/)).fields, { reply: 'AT+GPS\r\n', isU8: true }, 'bytes out and back through the HAL');
  t.same((devices.fan as FakeRelay).applied, ['off', 'on']);
  await a.logged(/^watching$/);
  // The watch is registered by the time the HAL answered hal.watch; poll the device rather than sleep.
  const pir = devices.pir as FakeInput;
  while (!a.logs.some((l) => l.message === 'edge')) {
    pir.emit({ edge: 'rising', value: 1, at: 1 });
    await new Promise((r) => setTimeout(r, 10));
  }
  t.same(await a.isolate.exited, { code: 0, cause: 'exit' }, 'ends once the watch is released');
  t.same((devices.fan as FakeRelay).applied.at(-1), 'off', 'the HAL drove the fan back to its safe state');
});

t.test('usage: VM time and QuickJS memory, read without asking the VM', async (t) => {
  const a = await start(t, "export default { name: 'u', start() { globalThis.keep = new Array(50000).fill('x'); this.t = setInterval(() => {}, 1000); }, stop() { clearInterval(this.t); } };");
  t.same(await a.first, { state: 'running' });
  const usage = await a.isolate.usage();
  t.ok(usage.memoryBytes > 50000 * 4, `memory ${usage.memoryBytes} bytes counts the agent's array`);
  t.ok(usage.cpuPercent >= 0 && usage.cpuPercent <= 100, `cpu ${usage.cpuPercent}%`);
  t.equal(a.isolate.osPid, undefined, 'no OS process of its own');
  await a.isolate.channel.request('agent.stop');
  t.same(await a.isolate.exited, { code: 0, cause: 'exit' });
});

t.test('a post whose JSON is not a string is refused in the VM: a size measured from a getter cannot let a huge message out', async (t) => {
  // JSON.stringify is the agent's to replace (one realm). The host measured the post by its `length` and copied it by
  // its toString(): an object answering 10 to the one and 4 MB to the other passed a 1 MiB cap.
  const a = await start(t, `export default { name: 'p', start(ctx) {
    const real = JSON.stringify;
    JSON.stringify = (...args) => {
      const text = real(...args);
      const huge = text.replace('"smuggle"', real('x'.repeat(4 * 1024 * 1024)));
      return { length: 10, toString: () => huge };
    };
    let refused = 'nothing thrown';
    try { ctx.log.info('smuggle'); } catch (e) { refused = e.name + ': ' + e.message; }
    JSON.stringify = real;
    ctx.log.info('after', { refused });
  } };`);
  t.same(await a.first, { state: 'running' });
  const after = await a.logged(/^after$/);
  t.match(after.fields, { refused: /^TypeError: .*post.*string/ }, 'the agent got an error; nothing was sent');
  t.notOk(a.logs.some((l) => l.message.length > 1024 * 1024), 'no log line over the cap reached the daemon');
});
