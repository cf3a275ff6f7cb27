// Escape attempts from agent code against real worker isolates (WorkerDriver), one per confirmed hole:
// crypto.setEngine & co (curated builtins), the real `process` (allow-listed facade), cross-worker messaging
// globals, an unfrozen ctx.config — plus the checks that ordinary agent code still works after hardening.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import type { Test } from 'tap';
import { loadBlueprint } from '../../design/blueprint.ts';
import type { LifecycleNote, LogNote } from '../../core/channel-messages.ts';
import type { IsolateExit, IsolateOutput } from '../isolation-driver.ts';
import { WorkerDriver } from '../worker/worker-driver.ts';
import { ALLOWED_BUILTINS, curateBuiltin, curatedExports, needsCuration, prepareCuratedBuiltins } from './module-policy.ts';
import { REFUSED_PROCESS_MEMBERS, undiciReadsMessagePort } from './isolate-hardening.ts';

const driver = new WorkerDriver();
const ENV = { OPENSTARRY_AGENT_ID: 'probe', OPENSTARRY_HOME: '/tmp/probe-home' };

function manifest(extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ id: 'probe', version: '1.0.0', plugins: ['./main.js'], ...extra });
}

interface Run {
  lifecycle: LifecycleNote[];
  logs: LogNote[];
  output: IsolateOutput[];
  exit: IsolateExit;
  /** The fields of the log line with that message. */
  fields(message: string): Record<string, unknown>;
}

/** Runs an agent whose code ends by itself (or calls process.exit); resolves when the isolate has exited. */
async function runAgent(t: Test, code: string, extra: Record<string, unknown> = {}, use: WorkerDriver = driver): Promise<Run> {
  const dir = t.testdir({ 'agent.json': manifest(extra), 'main.js': code });
  const blueprint = await loadBlueprint(`${dir}/agent.json`);
  const isolate = await use.start({ pid: '7', blueprint, env: ENV });
  t.teardown(() => isolate.terminate());
  const lifecycle: LifecycleNote[] = [];
  const logs: LogNote[] = [];
  const output: IsolateOutput[] = [];
  isolate.channel.onNote('lifecycle', (p) => lifecycle.push(p as LifecycleNote));
  isolate.channel.onNote('log', (p) => logs.push(p as LogNote));
  isolate.onOutput((o) => output.push(o));
  const exit = await isolate.exited;
  const fields = (message: string) => {
    const line = logs.find((l) => l.message === message);
    if (!line) throw new Error(`no log line "${message}"; got ${JSON.stringify(logs)} lifecycle ${JSON.stringify(lifecycle)}`);
    return line.fields ?? {};
  };
  return { lifecycle, logs, output, exit, fields };
}

/** Agent-side helper: `await attempt(() => ...)` -> 'ok: value' or the error's code (or constructor name). */
const ATTEMPT = `
const attempt = async (f) => { try { const v = await f(); return 'ok: ' + String(v); } catch (e) { return (e && e.code) || (e && e.constructor && e.constructor.name) || String(e); } };`;

t.test('crypto.setEngine, setFips and secureHeapUsed are refused — named imports, default export and process.getBuiltinModule', async (t) => {
  const run = await runAgent(t, `
    import crypto, { setEngine, setFips, secureHeapUsed, createHash } from 'node:crypto';
    import * as cryptoNs from 'node:crypto';
    import * as bufferNs from 'node:buffer';
    ${ATTEMPT}
    export default { name: 'p', async start(ctx) {
      const engine = '/tmp/openstarry-no-such-engine.so';
      ctx.log.info('result', {
        named: await attempt(() => setEngine(engine)),
        defaultExport: await attempt(() => crypto.setEngine(engine)),
        namespace: await attempt(() => cryptoNs.setEngine(engine)),
        getBuiltinModule: await attempt(() => process.getBuiltinModule('node:crypto').setEngine(engine)),
        setFips: await attempt(() => setFips(true)),
        defaultSetFips: await attempt(() => crypto.setFips(true)),
        secureHeapUsed: await attempt(() => secureHeapUsed()),
        fipsAccessor: 'fips' in crypto,
        resolveObjectURL: await attempt(() => bufferNs.resolveObjectURL('blob:nodedata:x')),
        defaultResolveObjectURL: await attempt(() => bufferNs.default.resolveObjectURL('blob:nodedata:x')),
        createObjectURL: typeof URL.createObjectURL,
        sameDefault: process.getBuiltinModule('crypto') === crypto,
        stillWorks: createHash('sha256').update('x').digest('hex').slice(0, 8) + ' ' + crypto.randomUUID().length,
      });
    } };`);
  t.same(run.exit, { code: 0, cause: 'exit' });
  t.same(run.fields('result'), {
    named: 'ERR_ISOLATE_DENIED',
    defaultExport: 'ERR_ISOLATE_DENIED',
    namespace: 'ERR_ISOLATE_DENIED',
    getBuiltinModule: 'ERR_ISOLATE_DENIED',
    setFips: 'ERR_ISOLATE_DENIED',
    defaultSetFips: 'ERR_ISOLATE_DENIED',
    secureHeapUsed: 'ERR_ISOLATE_DENIED',
    fipsAccessor: false,
    resolveObjectURL: 'ERR_ISOLATE_DENIED',
    defaultResolveObjectURL: 'ERR_ISOLATE_DENIED',
    createObjectURL: 'undefined',
    sameDefault: true,
    stillWorks: '2d711642 36',
  });
});

t.test('process is an allow-listed facade: report, loadEnvFile, _getActiveHandles, _rawDebug are gone or refused; env holds only the DI variables', async (t) => {
  const run = await runAgent(t, `
    ${ATTEMPT}
    export default { name: 'p', async start(ctx) {
      ctx.log.info('result', {
        keys: Object.keys(process).sort(),
        report: typeof process.report,
        writeReport: await attempt(() => process.report.writeReport('/tmp/openstarry-agent-report.json')),
        loadEnvFile: await attempt(() => process.loadEnvFile('/etc/hostname')),
        activeHandles: typeof process._getActiveHandles,
        activeRequests: typeof process._getActiveRequests,
        rawDebug: typeof process._rawDebug,
        reallyExit: typeof process.reallyExit,
        binding: await attempt(() => process.binding('fs')),
        dlopen: await attempt(() => process.dlopen({}, '/x.node')),
        getBuiltinFs: await attempt(() => process.getBuiltinModule('node:fs')),
        getBuiltinWorker: await attempt(() => process.getBuiltinModule('worker_threads')),
        on: typeof process.on,
        env: { ...process.env },
        envWrite: await attempt(() => { process.env.EXTRA = '1'; }),
        processWrite: await attempt(() => { process.exitCode = 3; }),
        processReplace: await attempt(() => { globalThis.process = {}; }),
        frozen: Object.isFrozen(process) && Object.isFrozen(process.env) && Object.isFrozen(process.stdout),
        argv: process.argv, execArgv: process.execArgv, cwd: process.cwd(),
        tag: Object.prototype.toString.call(process),
        stdoutKeys: Object.getOwnPropertyNames(process.stdout).concat(Object.getOwnPropertySymbols(process.stdout).map(String)),
        consoleStdout: typeof console._stdout === 'object' ? Object.getOwnPropertyNames(console._stdout).concat(Object.getOwnPropertySymbols(console._stdout).map(String)) : 'none',
      });
    } };`);
  t.same(run.exit, { code: 0, cause: 'exit' });
  const r = run.fields('result');
  const allowed = ['env', 'argv', 'execArgv', 'version', 'versions', 'platform', 'arch', 'stdout', 'stderr', 'nextTick', 'hrtime', 'uptime', 'memoryUsage', 'cpuUsage', 'emitWarning', 'exit', 'cwd', 'getBuiltinModule'];
  t.same(r.keys, [...allowed, ...REFUSED_PROCESS_MEMBERS].sort(), 'exactly the allow-list, plus members that only throw ERR_ISOLATE_DENIED');
  t.match(r, {
    report: 'undefined',
    writeReport: 'TypeError',
    loadEnvFile: 'ERR_ISOLATE_DENIED',
    activeHandles: 'undefined',
    activeRequests: 'undefined',
    rawDebug: 'undefined',
    reallyExit: 'undefined',
    binding: 'ERR_ISOLATE_DENIED',
    dlopen: 'ERR_ISOLATE_DENIED',
    getBuiltinFs: 'ERR_ISOLATE_DENIED',
    getBuiltinWorker: 'ERR_ISOLATE_DENIED',
    on: 'undefined',
    envWrite: 'TypeError',
    processWrite: 'TypeError',
    processReplace: 'TypeError',
    frozen: true,
    argv: [],
    execArgv: [],
    cwd: '/',
    tag: '[object process]',
    stdoutKeys: ['write'],
    consoleStdout: ['write'],
  });
  t.same(r.env, ENV, 'only the DI variables');
});

t.test('no path from globals, ctx or the allowed builtins reaches the real process, a MessagePort or the worker stdio streams', async (t) => {
  const run = await runAgent(t, `
    const BUILTINS = ${JSON.stringify([...ALLOWED_BUILTINS])};
    const BAD_KEYS = new Set(['_getActiveHandles', '_getActiveRequests', '_linkedBinding', 'reallyExit', '_rawDebug', 'writeReport', 'getReport', 'moduleLoadList', 'setUncaughtExceptionCaptureCallback', 'execPath']);
    const BAD_CLASSES = new Set(['MessagePort', 'Worker', 'BroadcastChannel', 'MessageChannel', 'WritableWorkerStdio', 'ReadableWorkerStdio']);
    export default { name: 'p', async start(ctx) {
      const queue = [['globalThis', globalThis], ['ctx', ctx]];
      for (const b of BUILTINS) queue.push(['import(' + b + ')', await import('node:' + b)], ['getBuiltinModule(' + b + ')', process.getBuiltinModule(b)]);
      queue.push(['setTimeout()', setTimeout(() => {}, 1)], ['setImmediate()', setImmediate(() => {})], ['new Blob', new Blob(['x'])], ['AbortSignal.timeout', AbortSignal.timeout(1)]);
      const seen = new Set();
      const findings = [];
      while (queue.length > 0 && seen.size < 50000) {
        const [where, v] = queue.shift();
        if ((typeof v !== 'object' && typeof v !== 'function') || v === null || seen.has(v)) continue;
        seen.add(v);
        if (v !== process && Object.prototype.toString.call(v) === '[object process]') findings.push('process at ' + where);
        const isPrototype = Object.hasOwn(v, 'constructor');
        let name; try { name = v.constructor && v.constructor.name; } catch {}
        if (typeof v === 'object' && !isPrototype && BAD_CLASSES.has(name)) findings.push(name + ' at ' + where);
        for (const key of Reflect.ownKeys(v)) {
          const d = Object.getOwnPropertyDescriptor(v, key);
          if (!d) continue;
          const at = where + '.' + String(key);
          if (typeof key === 'string' && BAD_KEYS.has(key)) findings.push(at);
          if ('value' in d) { queue.push([at, d.value]); continue; }
          if (d.get) queue.push([at + '<get>', d.get]);
          if (d.set) queue.push([at + '<set>', d.set]);
          if (d.get && !isPrototype) {
            try { const got = Reflect.get(v, key); if (got && typeof got.then === 'function') got.then(undefined, () => {}); queue.push([at, got]); } catch {}
          }
        }
        queue.push([where + '.__proto__', Object.getPrototypeOf(v)]);
      }
      ctx.log.info('result', { visited: seen.size, findings });
    } };`);
  t.same(run.exit, { code: 0, cause: 'exit' });
  const r = run.fields('result');
  t.ok((r.visited as number) > 1000, `crawled ${String(r.visited)} objects`);
  t.same(r.findings, []);
});

t.test('BroadcastChannel, MessageChannel, MessagePort, Worker and fetch are gone; structuredClone still works', async (t) => {
  const run = await runAgent(t, `
    export default { name: 'p', start(ctx) {
      const ab = new ArrayBuffer(8);
      const moved = structuredClone(ab, { transfer: [ab] });
      ctx.log.info('result', {
        globals: ['BroadcastChannel', 'MessageChannel', 'MessagePort', 'Worker', 'fetch', 'WebSocket', 'EventSource'].map((g) => typeof globalThis[g]),
        clone: structuredClone(new Map([[1, { a: [2] }]])).get(1).a[0],
        transferred: moved.byteLength === 8 && ab.byteLength === 0,
      });
    } };`);
  t.same(run.exit, { code: 0, cause: 'exit' });
  // MessagePort: gone, or the inert stand-in where Node's undici reads the global as it loads (Node 24).
  const standIn = undiciReadsMessagePort(process.versions.undici);
  t.same(run.fields('result'), { globals: ['undefined', 'undefined', standIn ? 'function' : 'undefined', 'undefined', 'undefined', 'undefined', 'undefined'], clone: 2, transferred: true });
});

t.test('Headers, Request, Response, FormData and MessageEvent work; a MessagePort stand-in is inert', async (t) => {
  const run = await runAgent(t, `
    export default { name: 'p', async start(ctx) {
      ctx.log.info('result', {
        response: await new Response(new Blob(['frame'])).text(),
        header: new Headers({ 'x-a': '1' }).get('x-a'),
        request: new Request('http://device.local/x', { method: 'POST' }).method,
        form: typeof FormData === 'function' && new FormData() instanceof FormData,
        event: new MessageEvent('message', { data: 7 }).data,
        construct: (() => { try { new MessagePort(); return 'constructed'; } catch (e) { return e.constructor.name; } })(),
        postMessage: typeof globalThis.MessagePort?.prototype.postMessage,
      });
    } };`);
  t.same(run.exit, { code: 0, cause: 'exit' });
  const standIn = undiciReadsMessagePort(process.versions.undici);
  t.same(run.fields('result'), { response: 'frame', header: '1', request: 'POST', form: true, event: 7, construct: standIn ? 'TypeError' : 'ReferenceError', postMessage: 'undefined' });
});

t.test('undiciReadsMessagePort: undici 7 and later (Node 24), not 6 (Node 20, 22)', async (t) => {
  t.equal(undiciReadsMessagePort('6.24.1'), false);
  t.equal(undiciReadsMessagePort('6.29.1'), false);
  t.equal(undiciReadsMessagePort('7.30.2'), true);
  t.equal(undiciReadsMessagePort('8.0.0'), true);
  t.equal(undiciReadsMessagePort(undefined), false);
});

t.test('ctx.config is deep-frozen: assignment throws TypeError in strict ESM', async (t) => {
  const run = await runAgent(t, `
    const attempt = (f) => { try { f(); return 'MUTATED'; } catch (e) { return e.constructor.name; } };
    export default { name: 'p', start(ctx) {
      ctx.log.info('result', {
        top: attempt(() => { ctx.config.target = 99; }),
        added: attempt(() => { ctx.config.extra = 1; }),
        nested: attempt(() => { ctx.config.nested.x = 1; }),
        array: attempt(() => { ctx.config.nested.list.push(4); }),
        deleted: attempt(() => { delete ctx.config.target; }),
        config: ctx.config,
      });
    } };`, { config: { target: 22.5, nested: { x: 0, list: [1, 2, 3] } } });
  t.same(run.exit, { code: 0, cause: 'exit' });
  t.same(run.fields('result'), { top: 'TypeError', added: 'TypeError', nested: 'TypeError', array: 'TypeError', deleted: 'TypeError', config: { target: 22.5, nested: { x: 0, list: [1, 2, 3] } } });
});

t.test('Error.prepareStackTrace gets no receiver or function of a host or Node frame', async (t) => {
  const run = await runAgent(t, `
    export default { name: 'p', async start(ctx) {
      const leaks = [];
      let calls = 0;
      Error.prepareStackTrace = (err, callSites) => {
        calls += 1;
        for (const c of callSites) {
          const file = c.getFileName();
          // Frames of the agent's own sloppy functions (new Function: no file name) may show their receiver.
          if (file === undefined || file === import.meta.url) continue;
          if (c.getThis() !== undefined || c.getFunction() !== undefined) leaks.push(file + ' ' + c.getFunctionName());
        }
        return String(err);
      };
      const sloppy = new Function('return new Error("from a sloppy callback").stack');
      ctx.bus.subscribe('t', sloppy);
      ctx.bus.publish('t', 1);
      await new Promise((r) => setTimeout(() => { sloppy(); r(); }, 1));
      await Promise.resolve().then(sloppy);
      try { ctx.log.info('getter field', { get x() { return sloppy(); } }); } catch {}
      try { await ctx.hal.getSensorData('temperature'); } catch (e) { e.stack; }
      try { ctx.bus.subscribe(); } catch (e) { e.stack; }
      try { await import('node:fs'); } catch (e) { e.stack; }
      Error.prepareStackTrace = undefined;
      ctx.log.info('result', { leaks, called: calls > 3 });
    } };`);
  t.same(run.exit, { code: 0, cause: 'exit' });
  t.same(run.fields('result'), { leaks: [], called: true });
});

t.test('path, url and util do not reveal the daemon cwd or argv', async (t) => {
  const run = await runAgent(t, `
    import path from 'node:path';
    import { resolve } from 'node:path';
    import posix from 'node:path/posix';
    import { pathToFileURL } from 'node:url';
    import { parseArgs } from 'node:util';
    export default { name: 'p', start(ctx) {
      ctx.log.info('result', {
        resolve: [path.resolve('a'), resolve('b'), posix.resolve(), path.posix.resolve('c'), path.win32.resolve('d'), path.win32.posix.resolve('e')],
        relative: path.relative('/x', 'a'),
        identity: path.posix === path && posix === path && path.win32.posix === path,
        url: [pathToFileURL('a/b/').href, pathToFileURL('/abs').href],
        positionals: parseArgs({ strict: false }).positionals,
      });
    } };`);
  t.same(run.exit, { code: 0, cause: 'exit' });
  t.same(run.fields('result'), {
    resolve: ['/a', '/b', '/', '/c', '\\d', '/e'],
    relative: '../a',
    identity: true,
    url: ['file:///a/b/', 'file:///abs'],
    positionals: [],
  });
});

t.test('ordinary agent code still works after hardening; console output is captured; process.exit(0) ends the isolate with 0', async (t) => {
  const run = await runAgent(t, `
    import crypto, { createHash, randomUUID } from 'node:crypto';
    import { EventEmitter, once } from 'node:events';
    import { setTimeout as sleep } from 'node:timers/promises';
    import { Buffer as ImportedBuffer } from 'node:buffer';
    import { StringDecoder } from 'node:string_decoder';
    import { Readable } from 'node:stream';
    export default { name: 'p', async start(ctx) {
      console.log('to stdout', { n: 1 });
      console.error('to stderr');
      process.stdout.write('written\\n');
      const emitter = new EventEmitter();
      setTimeout(() => emitter.emit('ping', 42), 1);
      const [pinged] = await once(emitter, 'ping');
      const chunks = []; for await (const c of Readable.from(['a', 'b'])) chunks.push(c);
      ctx.log.info('result', {
        id: process.env.OPENSTARRY_AGENT_ID,
        timer: await new Promise((r) => setTimeout(() => r('fired'), 5)),
        sleep: await sleep(1, 'slept'),
        immediate: await new Promise((r) => setImmediate(() => r('ran'))),
        tick: await new Promise((r) => process.nextTick(r, 'ticked')),
        microtask: await new Promise((r) => queueMicrotask(() => r('ran'))),
        rejection: await Promise.reject(new Error('x')).catch(() => 'caught'),
        uuid: randomUUID().length + crypto.randomUUID().length,
        hash: createHash('sha256').update('x').digest('hex').slice(0, 8),
        subtle: Buffer.from(await globalThis.crypto.subtle.digest('SHA-256', new TextEncoder().encode('x'))).toString('hex').slice(0, 8),
        buffer: Buffer.from('hi').toString('base64') + (ImportedBuffer === Buffer),
        text: new TextDecoder().decode(new TextEncoder().encode('é')) + new StringDecoder('utf8').write(Buffer.from('ok')),
        clone: structuredClone({ a: new Date(0) }).a.getTime(),
        pinged, stream: chunks.join(''),
        hrtime: typeof process.hrtime.bigint() + typeof process.hrtime()[0] + typeof process.memoryUsage().rss + typeof process.uptime(),
      });
      this.keepAlive = setInterval(() => {}, 1000);
      setTimeout(() => process.exit(0), 5);
    } };`);
  t.same(run.exit, { code: 0, cause: 'exit' }, 'process.exit(0) ended the isolate despite a pending interval');
  t.same(run.lifecycle, [{ state: 'running' }]);
  t.same(run.fields('result'), {
    id: 'probe', timer: 'fired', sleep: 'slept', immediate: 'ran', tick: 'ticked', microtask: 'ran', rejection: 'caught', uuid: 72,
    hash: '2d711642', subtle: '2d711642', buffer: 'aGk=true', text: 'éok', clone: 0, pinged: 42, stream: 'ab', hrtime: 'bigintnumbernumbernumber',
  });
  const lines = (stream: string) => run.output.filter((o) => o.stream === stream).map((o) => o.line);
  t.same(lines('stdout'), ['to stdout { n: 1 }', 'written']);
  t.same(lines('stderr'), ['to stderr']);
});

t.test('a warm spare gets its DI environment before hardening and the same facade', async (t) => {
  const warm = new WorkerDriver({ warmSpares: 1, spareMemoryMb: 64 });
  t.teardown(() => warm.close());
  const run = await runAgent(t, `export default { name: 'p', start(ctx) {
    ctx.log.info('result', { env: { ...process.env }, frozen: Object.isFrozen(process.env), report: typeof process.report, bc: typeof BroadcastChannel });
  } };`, {}, warm);
  t.same(run.exit, { code: 0, cause: 'exit' });
  t.same(run.fields('result'), { env: ENV, frozen: true, report: 'undefined', bc: 'undefined' });
});

t.test('hooks agent code puts on its own realm (Object.getOwnPropertyDescriptor, Map/WeakMap get, Promise constructor) catch no raw node:crypto or node:buffer', async (t) => {
  const run = await runAgent(t, `
    const caught = new Set();
    const note = (v) => { if (v && (typeof v === 'object' || typeof v === 'function')) caught.add(v); };
    const gopd = Object.getOwnPropertyDescriptor;
    Object.getOwnPropertyDescriptor = function (o, k) { note(o); return gopd(o, k); };
    const ownKeys = Reflect.ownKeys; Reflect.ownKeys = function (o) { note(o); return ownKeys(o); };
    const keys = Object.keys; Object.keys = function (o) { note(o); return keys(o); };
    const weakGet = WeakMap.prototype.get; WeakMap.prototype.get = function (k) { note(k); return weakGet.call(this, k); };
    const weakSet = WeakMap.prototype.set; WeakMap.prototype.set = function (k, v) { note(k); note(v); return weakSet.call(this, k, v); };
    const mapGet = Map.prototype.get; Map.prototype.get = function (k) { const v = mapGet.call(this, k); note(v); return v; };
    const mapSet = Map.prototype.set; Map.prototype.set = function (k, v) { note(v); if (v && typeof v === 'object') note(v.default); return mapSet.call(this, k, v); };
    // Every function a curation after agent code could call (the builtins are curated before it runs: none sees one).
    // (The hooks themselves use index loops and a captured Reflect.apply: they hook the array iterator and call.)
    const reflectApply = Reflect.apply;
    const noteAll = (args) => { for (let i = 0; i < args.length; i++) note(args[i]); };
    const hooks = [[Object, 'getPrototypeOf'], [Object, 'setPrototypeOf'], [Object, 'create'], [Object, 'defineProperty'], [Object, 'hasOwn'], [Object, 'freeze'], [Object, 'entries'], [Reflect, 'get'], [Reflect, 'apply']];
    for (let i = 0; i < hooks.length; i++) {
      const owner = hooks[i][0]; const name = hooks[i][1]; const original = owner[name];
      owner[name] = function (...args) { noteAll(args); return reflectApply(original, this, args); };
    }
    Function.prototype.call = function (self, ...args) { note(self); noteAll(args); return reflectApply(this, self, args); };
    // A setter or getter on Object.prototype sees what is assigned to, or looked up on, an ordinary object.
    const trapped = ['default', 'crypto', 'then', 'setEngine'];
    const define = Object.getOwnPropertyDescriptor(Object, 'defineProperty').value;
    for (let i = 0; i < trapped.length; i++) {
      const name = trapped[i];
      define(Object.prototype, name, { configurable: true, get() { note(this); return undefined; }, set(v) { note(this); note(v); define(this, name, { value: v, writable: true, enumerable: true, configurable: true }); } });
    }
    const arrayIterator = [][Symbol.iterator]().__proto__;
    const arrayNext = arrayIterator.next;
    arrayIterator.next = function () { const r = reflectApply(arrayNext, this, []); note(r.value); return r; };
    let inGetter = false;
    const then = Promise.prototype.then;
    Object.defineProperty(Promise.prototype, 'constructor', { configurable: true, get() {
      if (!inGetter) { inGetter = true; try { then.call(this, note, () => {}); } finally { inGetter = false; } }
      return Promise;
    } });
    export default { name: 'p', async start(ctx) {
      process.getBuiltinModule('node:crypto');
      await import('node:crypto'); await import('node:buffer'); await import('node:util'); await import('node:url');
      process.getBuiltinModule('buffer');
      await new Promise((r) => setTimeout(r, 5));
      arrayIterator.next = arrayNext;
      for (const name of trapped) delete Object.prototype[name];
      const raw = [];
      for (const v of [...caught]) {
        for (const [member, arg] of [['setEngine', '/tmp/openstarry-no-such-engine.so'], ['resolveObjectURL', 'blob:nodedata:x']]) {
          let f; try { f = v[member]; } catch {}
          if (typeof f !== 'function') continue;
          try { f(arg); raw.push(member + ' ran'); } catch (e) { if (e.code !== 'ERR_ISOLATE_DENIED') raw.push(member + ' reached Node: ' + e.code); }
        }
      }
      ctx.log.info('result', { hooked: caught.size > 0, raw });
    } };`);
  t.same(run.exit, { code: 0, cause: 'exit' });
  t.same(run.fields('result'), { hooked: true, raw: [] }, 'builtins were curated before agent code ran');
});

t.test('Set.prototype.has and Map.prototype.get replaced by agent code do not open node:fs or the raw node:crypto', async (t) => {
  const run = await runAgent(t, `${ATTEMPT}
    export default { name: 'p', async start(ctx) {
      const has = Set.prototype.has; const get = Map.prototype.get;
      Set.prototype.has = function () { return true; };
      Map.prototype.get = function () { return undefined; };
      const engine = (c) => c.setEngine('/tmp/openstarry-no-such-engine.so');
      const result = {
        getBuiltinFs: await attempt(() => typeof process.getBuiltinModule('node:fs').readFileSync),
        importFs: await attempt(async () => typeof (await import('node:fs')).readFileSync),
        getBuiltinCrypto: await attempt(() => engine(process.getBuiltinModule('node:crypto'))),
        importCrypto: await attempt(async () => engine(await import('node:crypto'))),
        importCryptoDefault: await attempt(async () => engine((await import('node:crypto')).default)),
      };
      Set.prototype.has = has; Map.prototype.get = get;
      ctx.log.info('result', result);
    } };`);
  t.same(run.exit, { code: 0, cause: 'exit' });
  const tries = ['getBuiltinFs', 'importFs', 'getBuiltinCrypto', 'importCrypto', 'importCryptoDefault'];
  t.same(run.fields('result'), Object.fromEntries(tries.map((k) => [k, 'ERR_ISOLATE_DENIED'])));
});

t.test('the real process, should agent code catch it through a prototype hook, is defanged too', async (t) => {
  const run = await runAgent(t, `
    import { EventEmitter } from 'node:events';
    ${ATTEMPT}
    let real;
    const emit = EventEmitter.prototype.emit;
    // Node emits 'warning' on the real process: a hook on the shared prototype sees it (realm pollution is not
    // defended against, so the real process itself must hold nothing that reaches beyond the isolate).
    EventEmitter.prototype.emit = function (...args) { if (this !== process && Object.prototype.toString.call(this) === '[object process]') real = real ?? this; return emit.apply(this, args); };
    export default { name: 'p', async start(ctx) {
      process.emitWarning('catch me');
      await new Promise((r) => setTimeout(r, 5));
      EventEmitter.prototype.emit = emit;
      if (!real) { ctx.log.info('result', { caught: false }); return; }
      real._rawDebug('raw debug line');
      ctx.log.info('result', {
        caught: true,
        childProcess: await attempt(() => real.getBuiltinModule('node:child_process')),
        fs: await attempt(() => real.getBuiltinModule('fs')),
        setEngine: await attempt(() => real.getBuiltinModule('crypto').setEngine('/tmp/openstarry-no-such-engine.so')),
        report: typeof real.report,
        loadEnvFile: await attempt(() => real.loadEnvFile('/etc/hostname')),
        activeHandles: await attempt(() => real._getActiveHandles()),
        binding: await attempt(() => real.binding('fs')),
        linkedBinding: await attempt(() => real._linkedBinding('x')),
        dlopen: await attempt(() => real.dlopen({}, '/x.node')),
        kill: await attempt(() => real.kill(real.pid, 0)),
        abort: await attempt(() => real.abort()),
      });
    } };`);
  t.same(run.exit, { code: 0, cause: 'exit' });
  t.same(run.fields('result'), {
    caught: true, childProcess: 'ERR_ISOLATE_DENIED', fs: 'ERR_ISOLATE_DENIED', setEngine: 'ERR_ISOLATE_DENIED', report: 'undefined', loadEnvFile: 'ERR_ISOLATE_DENIED',
    activeHandles: 'ERR_ISOLATE_DENIED', binding: 'ERR_ISOLATE_DENIED', linkedBinding: 'ERR_ISOLATE_DENIED', dlopen: 'ERR_ISOLATE_DENIED', kill: 'ERR_ISOLATE_DENIED', abort: 'ERR_ISOLATE_DENIED',
  });
  t.same(run.output, [{ stream: 'stderr', line: 'raw debug line' }], '_rawDebug writes to the captured stderr, not to the daemon fd 2');
});

/** The entries a worker isolate can run: this checkout's sources, and the shipped CommonJS bundle when built. */
const BUILT_HOST = new URL('../../../dist/agent-host.cjs', import.meta.url);
function hostEntries(t: Test): [string, WorkerDriver][] {
  const entries: [string, WorkerDriver][] = [['source entry', driver]];
  if (existsSync(fileURLToPath(BUILT_HOST))) {
    const built = new WorkerDriver({ entry: BUILT_HOST });
    t.teardown(() => built.close());
    entries.push(['dist/agent-host.cjs', built]);
  } else t.comment('dist/agent-host.cjs not built: only the source entry is tried (npm test builds first)');
  return entries;
}

t.test('process.mainModule (the CommonJS host\'s own module) and an Object.prototype.then trap on the usage answer reach no builtin', async (t) => {
  for (const [label, use] of hostEntries(t)) {
    const dir = t.testdir({
      'agent.json': manifest(),
      'main.js': `
        import { EventEmitter } from 'node:events';
        ${ATTEMPT}
        export default { name: 'p', async start(ctx) {
          let real;
          const emit = EventEmitter.prototype.emit;
          EventEmitter.prototype.emit = function (...args) { if (this !== process && Object.prototype.toString.call(this) === '[object process]') real = real ?? this; return emit.apply(this, args); };
          process.emitWarning('catch me');
          await new Promise((r) => setTimeout(r, 5));
          EventEmitter.prototype.emit = emit;
          ctx.log.info('real', { caught: real !== undefined, mainModule: typeof real?.mainModule, require: await attempt(() => real.mainModule.require('node:child_process')) });
          globalThis.caught = [];
          Object.defineProperty(Object.prototype, 'then', { configurable: true, get() { if (this && typeof this.setFlagsFromString === 'function') globalThis.caught.push('v8'); return undefined; } });
          ctx.log.info('main', { mainModule: typeof process.mainModule });
          this.t = setInterval(() => { if (globalThis.caught.length) ctx.log.info('caught', { what: globalThis.caught.join(',') }); }, 20);
        }, stop() { clearInterval(this.t); } };`,
    });
    const blueprint = await loadBlueprint(`${dir}/agent.json`);
    const isolate = await use.start({ pid: '8', blueprint, env: ENV });
    t.teardown(() => isolate.terminate());
    const logs: LogNote[] = [];
    isolate.channel.onNote('log', (p) => logs.push(p as LogNote));
    await new Promise<void>((resolve) => { const check = () => (logs.some((l) => l.message === 'main') ? resolve() : setTimeout(check, 10)); check(); });
    t.same(logs.find((l) => l.message === 'main')?.fields, { mainModule: 'undefined' }, `${label}: the facade has no mainModule`);
    t.match(logs.find((l) => l.message === 'real')?.fields, { caught: true, mainModule: 'undefined' }, `${label}: nor has the real process, caught through a prototype hook`);
    t.not(logs.find((l) => l.message === 'real')?.fields?.require, 'ok: [object Object]', `${label}: mainModule.require loads nothing`);
    const usage = await isolate.usage();
    t.ok(usage.memoryBytes === undefined || usage.memoryBytes > 0, `${label}: the usage answer still arrives`);
    await new Promise((r) => setTimeout(r, 100));
    t.notOk(logs.some((l) => l.message === 'caught'), `${label}: the usage question did not hand node:v8 to agent code`);
    await isolate.terminate();
  }
});

t.test('module policy: curated builtins (unit)', async (t) => {
  const crypto = (await import('node:crypto')) as unknown as Record<string, unknown>;
  const exports = curatedExports('crypto', crypto);
  const curated = exports.default as Record<string, unknown>;
  t.not(curated, crypto.default, 'default is a curated copy, not the raw module object');
  t.equal(curated.createHash, crypto.createHash, 'harmless members are the real ones');
  for (const member of ['setEngine', 'setFips', 'secureHeapUsed']) {
    t.throws(() => (exports[member] as () => void)(), { code: 'ERR_ISOLATE_DENIED' }, `named ${member}`);
    t.throws(() => (curated[member] as () => void)(), { code: 'ERR_ISOLATE_DENIED' }, `default.${member}`);
  }
  t.notOk('fips' in curated, 'the fips accessor is left out');
  t.equal(curateBuiltin('crypto', crypto.default), curated, 'curated once per raw module');
  const events = (await import('node:events')) as unknown as Record<string, unknown>;
  t.equal(curatedExports('events', events).default, events.default, 'a class default (EventEmitter) is served as is');
  t.throws(() => curateBuiltin('fs', {}), { code: 'ERR_ISOLATE_DENIED' });
  const querystring = (await import('node:querystring')) as unknown as Record<string, unknown>;
  t.equal(curatedExports('querystring', querystring), querystring, 'a builtin with nothing to remove is served as Node ships it');
});

t.test('module policy: prepareCuratedBuiltins curates up front and never touches a raw curated module later (unit)', async (t) => {
  const imported: string[] = [];
  const builtins = await prepareCuratedBuiltins({
    importBuiltin: (name) => {
      imported.push(name);
      return import(`node:${name}`) as Promise<Record<string, unknown>>;
    },
    getBuiltinModule: (id) => (process as unknown as { getBuiltinModule: (id: string) => unknown }).getBuiltinModule(id),
  });
  const curatedNow = [...ALLOWED_BUILTINS].filter(needsCuration);
  t.same(imported, curatedNow, 'exactly the builtins that need curation were imported while preparing');
  t.ok(curatedNow.includes('crypto') && curatedNow.includes('buffer'));
  const crypto = await builtins.exports('crypto');
  t.throws(() => (crypto.setEngine as () => void)(), { code: 'ERR_ISOLATE_DENIED' });
  t.equal(builtins.defaultExport('crypto'), crypto.default, 'getBuiltinModule and import agree');
  t.equal(builtins.defaultExport('path/posix'), builtins.defaultExport('path'));
  t.same(imported, curatedNow, 'no import of a curated builtin after preparation');
  await builtins.exports('events');
  t.same(imported, [...curatedNow, 'events'], 'harmless builtins are imported on demand');
  await t.rejects(builtins.exports('fs'), { code: 'ERR_ISOLATE_DENIED' });
  t.throws(() => builtins.defaultExport('child_process'), { code: 'ERR_ISOLATE_DENIED' });
});
