// AgentCore: plugin lifecycle order, failure unwinding, stop semantics, the frozen ctx, and the channel methods
// the daemon calls (agent.snapshot, agent.stop). The "daemon" end is a ChannelEndpoint over an in-memory port
// pair that delivers on a microtask and structured-clones, like a MessagePort.
import t from 'tap';
import type { IHAL } from './hal-api.ts';
import { AgentCore } from './agent-core.ts';
import { ChannelEndpoint } from './channel-endpoint.ts';
import { inMemoryChannelPair } from './in-memory-channel.ts';
import type { LogNote } from './channel-messages.ts';
import { ErrorCode, OpenStarryError } from './errors.ts';
import type { IAgentContext, IPlugin } from './plugin.ts';

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));


/** The core only hands ctx.hal to plugins; its behaviour is tested in hal/hal-service.test.ts. */
const fakeHal: IHAL = {
  getSensorData: async () => 0,
  controlActuator: async () => undefined,
  getCameraStream: () => new ReadableStream(),
  watch: () => () => undefined,
  openSerial: async () => Promise.reject(new Error('no serial in this test')),
};

function setup(plugins: IPlugin[], config: Record<string, never> | Record<string, string | number> = {}) {
  const [agentPort, daemonPort] = inMemoryChannelPair();
  const channel = new ChannelEndpoint(agentPort);
  const daemon = new ChannelEndpoint(daemonPort);
  const logs: LogNote[] = [];
  daemon.onNote('log', (p) => logs.push(p as LogNote));
  const core = new AgentCore({ agentId: 'probe', config: Object.freeze({ ...config }), plugins, channel, hal: fakeHal });
  return { core, daemon, channel, logs };
}

/** A plugin that records its calls into `calls` as `name:start` / `name:stop`. */
function recorder(name: string, calls: string[], extra: Partial<IPlugin> = {}): IPlugin {
  return {
    name,
    start: () => {
      calls.push(`${name}:start`);
    },
    stop: () => {
      calls.push(`${name}:stop`);
    },
    ...extra,
  };
}

t.test('plugins start in manifest order and stop in reverse; state follows', async (t) => {
  const calls: string[] = [];
  const contexts: IAgentContext[] = [];
  const plugins = ['a', 'b', 'c'].map((n) =>
    recorder(n, calls, {
      start: async (ctx) => {
        contexts.push(ctx);
        await Promise.resolve();
        calls.push(`${n}:start`);
      },
    }),
  );
  const { core } = setup(plugins);
  t.equal(core.state, 'idle');
  const starting = core.start();
  t.equal(core.state, 'starting');
  await starting;
  t.equal(core.state, 'running');
  t.same(calls, ['a:start', 'b:start', 'c:start']);
  t.ok(contexts.every((c) => c === core.context), 'every plugin gets the same ctx');
  await core.stop();
  t.equal(core.state, 'stopped');
  t.same(calls, ['a:start', 'b:start', 'c:start', 'c:stop', 'b:stop', 'a:stop']);
});

t.test('start() twice is an internal error', async (t) => {
  const { core } = setup([recorder('a', [])]);
  await core.start();
  await t.rejects(core.start(), { code: ErrorCode.INTERNAL, message: /running/ });
  await core.stop();
  await t.rejects(core.start(), { code: ErrorCode.INTERNAL, message: /stopped/ });
});

t.test('a plugin whose start throws: started ones stop in reverse, later ones never start, start() rejects naming it', async (t) => {
  const calls: string[] = [];
  const cause = new Error('no such sensor');
  const plugins: IPlugin[] = [
    recorder('first', calls),
    { name: 'no-stop', start: () => void calls.push('no-stop:start') },
    recorder('second', calls),
    recorder('broken', calls, {
      start: async () => {
        calls.push('broken:start');
        throw cause;
      },
    }),
    recorder('never', calls),
  ];
  const { core } = setup(plugins);
  const err = await core.start().catch((e: unknown) => e);
  t.ok(err instanceof OpenStarryError);
  t.match(err, { code: ErrorCode.PLUGIN_START_FAILED, message: /plugin "broken" failed to start: no such sensor/ });
  t.equal((err as Error).cause, cause, 'the original error is kept as cause');
  t.same(calls, ['first:start', 'no-stop:start', 'second:start', 'broken:start', 'second:stop', 'first:stop']);
  t.equal(core.state, 'stopped');

  await core.stop();
  t.same(calls.filter((c) => c.endsWith(':stop')), ['second:stop', 'first:stop'], 'a later stop() stops nothing twice');
});

t.test('the first plugin failing stops nothing and still names it; a non-Error throw is described', async (t) => {
  const calls: string[] = [];
  const { core } = setup([
    recorder('only', calls, {
      start: () => {
        throw 'a string';
      },
    }),
  ]);
  await t.rejects(core.start(), { code: ErrorCode.PLUGIN_START_FAILED, message: /plugin "only" failed to start: a string/ });
  t.same(calls, []);
});

t.test('stop() aborts ctx.signal before plugins stop, is idempotent, and survives a throwing stop', async (t) => {
  const calls: string[] = [];
  let abortedDuringStop: boolean | undefined;
  let abortEvents = 0;
  const plugins: IPlugin[] = [
    recorder('a', calls),
    recorder('bad', calls, {
      stop: () => {
        calls.push('bad:stop');
        throw new Error('stuck relay');
      },
    }),
    recorder('c', calls, {
      start: (ctx) => {
        calls.push('c:start');
        ctx.signal.addEventListener('abort', () => abortEvents++);
      },
      stop: (ctx) => {
        abortedDuringStop = ctx.signal.aborted;
        calls.push('c:stop');
      },
    }),
  ];
  const { core, logs } = setup(plugins);
  await core.start();
  t.equal(core.context.signal.aborted, false);
  const first = core.stop();
  const second = core.stop();
  t.equal(first, second, 'the same promise');
  t.equal(core.state, 'stopping');
  await first;
  await core.stop();
  t.equal(core.context.signal.aborted, true);
  t.equal(abortedDuringStop, true, 'signal aborted before stop(ctx) ran');
  t.equal(abortEvents, 1);
  t.same(calls, ['a:start', 'bad:start', 'c:start', 'c:stop', 'bad:stop', 'a:stop'], 'each stop once; a throwing stop does not block the rest');
  await flush();
  t.match(logs, [{ level: 'error', message: /plugin "bad" stop failed: stuck relay/ }]);
});

t.test('stop() arriving while a plugin is still starting: nothing more starts and every started plugin stops', async (t) => {
  const calls: string[] = [];
  let release: (() => void) | undefined;
  const plugins: IPlugin[] = [
    recorder('a', calls),
    recorder('slow', calls, {
      start: () =>
        new Promise<void>((resolve) => {
          calls.push('slow:start');
          release = resolve;
        }),
    }),
    recorder('later', calls),
  ];
  const { core } = setup(plugins);
  const starting = core.start();
  await flush();
  t.same(calls, ['a:start', 'slow:start']);
  const stopping = core.stop();
  release?.();
  await starting;
  await stopping;
  t.equal(core.state, 'stopped');
  t.same(calls, ['a:start', 'slow:start', 'slow:stop', 'a:stop'], '"later" never starts; "slow" is stopped once its start settled');
});

t.test('ctx is frozen and carries agentId, config, bus, log, signal, hal and events', async (t) => {
  const { core } = setup([recorder('a', [])], { target: 22.5 });
  const ctx = core.context;
  t.ok(Object.isFrozen(ctx));
  t.ok(Object.isFrozen(ctx.log));
  t.equal(ctx.agentId, 'probe');
  t.same(ctx.config, { target: 22.5 });
  t.type(ctx.bus.publish, 'function');
  t.ok(ctx.signal instanceof AbortSignal);
  t.throws(() => {
    (ctx as { agentId: string }).agentId = 'other';
  }, TypeError);
  t.throws(() => {
    (ctx as unknown as Record<string, unknown>).hal = {};
  }, TypeError);
  t.equal(ctx.agentId, 'probe');
  t.equal(ctx.hal, fakeHal, 'the host-built HAL proxy');
  t.ok(Object.isFrozen(ctx.events), 'ctx.events is there, frozen');
  t.ok(Object.isFrozen(ctx.metering), 'ctx.metering is there, frozen');
});

t.test('ctx.log sends "log" notes over the channel; fields that cannot be cloned are stringified', async (t) => {
  const { core, logs } = setup([recorder('a', [])]);
  const log = core.context.log;
  log.debug('d');
  log.info('hello', { n: 1, nested: { ok: true } });
  log.warn('w', { fn: () => 1, s: 'text', v: 3 });
  log.error('e');
  await flush();
  t.same(logs, [
    { level: 'debug', message: 'd' },
    { level: 'info', message: 'hello', fields: { n: 1, nested: { ok: true } } },
    { level: 'warn', message: 'w', fields: { fn: '() => 1', s: 'text', v: 3 } },
    { level: 'error', message: 'e' },
  ]);
  t.notOk('fields' in (logs[0] ?? {}), 'no fields key without fields');
});

t.test('a throwing bus handler is logged as an error note naming the topic', async (t) => {
  const { core, logs } = setup([
    {
      name: 'p',
      start(ctx) {
        ctx.bus.subscribe('boom', () => {
          throw new Error('handler exploded');
        });
        ctx.bus.publish('boom', 1);
      },
    },
  ]);
  await core.start();
  await flush();
  t.match(logs, [{ level: 'error', message: /bus handler for boom threw: handler exploded/ }]);
  await core.stop();
});

t.test('"agent.snapshot" returns the bus\'s retained snapshot', async (t) => {
  const { core, daemon } = setup([
    {
      name: 'p',
      start(ctx) {
        ctx.bus.publish('count', 3, { retain: true });
        ctx.bus.publish('status', { online: true }, { retain: true });
        ctx.bus.publish('transient', 'x');
      },
    },
  ]);
  t.same(await daemon.request('agent.snapshot'), {}, 'empty before start');
  await core.start();
  t.same(await daemon.request('agent.snapshot'), { count: 3, status: { online: true } });
  await core.stop();
});

t.test('"agent.stop" stops the core and answers once it has stopped', async (t) => {
  const calls: string[] = [];
  const { core, daemon } = setup([recorder('a', calls), recorder('b', calls)]);
  await core.start();
  t.equal(await daemon.request('agent.stop'), undefined);
  t.equal(core.state, 'stopped');
  t.equal(core.context.signal.aborted, true);
  t.same(calls, ['a:start', 'b:start', 'b:stop', 'a:stop']);
  t.equal(await daemon.request('agent.stop'), undefined, 'a second agent.stop is harmless');
  t.same(calls, ['a:start', 'b:start', 'b:stop', 'a:stop']);
});

t.test('stop() before start() aborts the signal and ends stopped', async (t) => {
  const calls: string[] = [];
  const { core } = setup([recorder('a', calls)]);
  await core.stop();
  t.equal(core.state, 'stopped');
  t.equal(core.context.signal.aborted, true);
  t.same(calls, []);
});

t.test('ctx.state: hydrated from the host, set() sends a state.save note, bad values are refused', async (t) => {
  const [agentPort, daemonPort] = inMemoryChannelPair();
  const channel = new ChannelEndpoint(agentPort);
  const daemon = new ChannelEndpoint(daemonPort);
  const saved: unknown[] = [];
  daemon.onNote('state.save', (v) => saved.push(v));
  const core = new AgentCore({ agentId: 'probe', config: {}, plugins: [], channel, hal: fakeHal, initialState: { count: 3 } });
  const state = core.context.state;
  t.same(state.get(), { count: 3 });
  const copy = state.get() as { count: number };
  copy.count = 99;
  t.same(state.get(), { count: 3 }, 'get() returns a copy');
  state.set({ count: 4 });
  await new Promise((r) => setImmediate(r));
  t.same(saved, [{ count: 4 }]);
  t.throws(() => state.set({ big: 'x'.repeat(256 * 1024) }), { code: 'ERR_STATE_TOO_LARGE' });
  t.throws(() => state.set(1n as never), { code: 'ERR_STATE_INVALID' });
  t.throws(() => state.set((() => 1) as never), { code: 'ERR_STATE_INVALID' });
  t.same(state.get(), { count: 4 }, 'a refused set changes nothing');
});
