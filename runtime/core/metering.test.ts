// ctx.metering: validation of n and info, coalescing of a tight loop into few `metering.tokens` notes (timer
// injected: no sleeping), a flush when the core stops (stop(ctx) reports included), and reports after stop.
import t from 'tap';
import { AgentCore } from './agent-core.ts';
import { ChannelEndpoint } from './channel-endpoint.ts';
import { inMemoryChannelPair } from './in-memory-channel.ts';
import type { IHAL } from './hal-api.ts';
import { ErrorCode } from './errors.ts';
import type { CoreTimers, MeteringTokensNote } from './metering.ts';
import { FLUSH_MS, FLUSH_TOKENS, MAX_PENDING_INFOS, MAX_TOKENS_PER_CALL } from './metering.ts';
import type { IPlugin } from './plugin.ts';

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

const fakeHal = {} as IHAL;

/** Timers that fire only when the test says so. */
class StepTimers implements CoreTimers {
  readonly due = new Map<number, { ms: number; fn: () => void }>();
  #next = 1;
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.#next++;
    this.due.set(id, { ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.due.delete(handle as number);
  }
  fireAll(): void {
    for (const [id, timer] of [...this.due]) {
      this.due.delete(id);
      timer.fn();
    }
  }
}

function setup(plugins: IPlugin[] = [{ name: 'p', start() {} }]) {
  const [agentPort, daemonPort] = inMemoryChannelPair();
  const daemon = new ChannelEndpoint(daemonPort);
  const notes: MeteringTokensNote[] = [];
  daemon.onNote('metering.tokens', (p) => notes.push(p as MeteringTokensNote));
  daemon.onNote('log', () => undefined);
  const timers = new StepTimers();
  const core = new AgentCore({ agentId: 'llm', config: {}, plugins, channel: new ChannelEndpoint(agentPort), hal: fakeHal, timers });
  return { core, notes, timers };
}

t.test('a tight loop of reports becomes one note per info per flush', async (t) => {
  const { core, notes, timers } = setup();
  await core.start();
  const m = core.context.metering;
  t.ok(Object.isFrozen(m));
  for (let i = 0; i < 1000; i++) m.tokens(3);
  m.tokens(7, { model: 'small' });
  m.tokens(5, { model: 'small' });
  await flush();
  t.same(notes, [], 'nothing sent before the flush timer');
  t.equal(timers.due.size, 1, 'one timer for the whole batch');
  t.equal([...timers.due.values()][0]?.ms, FLUSH_MS);
  timers.fireAll();
  await flush();
  t.same(notes, [{ n: 3000 }, { n: 12, info: { model: 'small' } }]);
  m.tokens(0);
  t.equal(timers.due.size, 0, 'n = 0 sends and schedules nothing');
  await core.stop();
});

t.test('large amounts and many distinct infos are sent without waiting for the timer', async (t) => {
  const { core, notes } = setup();
  await core.start();
  core.context.metering.tokens(FLUSH_TOKENS);
  for (let i = 0; i <= MAX_PENDING_INFOS; i++) core.context.metering.tokens(1, { call: i });
  await flush();
  t.same(notes[0], { n: FLUSH_TOKENS }, 'a report of FLUSH_TOKENS goes at once');
  t.equal(notes.length, 1 + MAX_PENDING_INFOS, 'the 17th distinct info flushed the first 16');
  await core.stop();
  await flush();
  t.equal(notes.length, 2 + MAX_PENDING_INFOS, 'the last one on stop');
});

t.test('bad n and info are refused with ERR_METERING_INVALID and count nothing', async (t) => {
  const { core, notes, timers } = setup();
  await core.start();
  const m = core.context.metering as { tokens(n: unknown, info?: unknown): void };
  const circular: Record<string, unknown> = {};
  circular.self = circular;
  for (const [n, info] of [
    [-1, undefined],
    [1.5, undefined],
    [Number.NaN, undefined],
    [Number.POSITIVE_INFINITY, undefined],
    [MAX_TOKENS_PER_CALL + 1, undefined],
    ['10', undefined],
    [10n, undefined],
    [undefined, undefined],
    [1, 'gpt'],
    [1, ['a']],
    [1, null],
    [1, circular],
    [1, { big: 'x'.repeat(2000) }],
  ] as [unknown, unknown][]) {
    t.throws(() => m.tokens(n, info), { code: ErrorCode.METERING_INVALID }, `${typeof n} ${String(n).slice(0, 20)} / ${typeof info}`);
  }
  t.equal(timers.due.size, 0, 'nothing pending');
  m.tokens(MAX_TOKENS_PER_CALL);
  await core.stop();
  await flush();
  t.same(notes, [{ n: MAX_TOKENS_PER_CALL }], 'the cap itself is allowed; only the valid report was counted');
});

t.test('stop flushes what is pending, including reports from stop(ctx); later reports go at once', async (t) => {
  const { core, notes, timers } = setup([
    {
      name: 'llm',
      start(ctx) {
        ctx.metering.tokens(40);
      },
      stop(ctx) {
        ctx.metering.tokens(2, { phase: 'summary' });
      },
    },
  ]);
  await core.start();
  await core.stop();
  t.equal(timers.due.size, 0, 'no timer outlives the core');
  await flush();
  t.same(notes, [{ n: 40 }, { n: 2, info: { phase: 'summary' } }]);
  core.context.metering.tokens(5);
  t.equal(timers.due.size, 0);
  await flush();
  t.same(notes.at(-1), { n: 5 }, 'sent immediately after stop');
});

t.test('a plugin failing to start still reports the tokens already counted', async (t) => {
  const { core, notes } = setup([
    {
      name: 'llm',
      start(ctx) {
        ctx.metering.tokens(9);
        throw new Error('model unavailable');
      },
    },
  ]);
  await t.rejects(core.start(), { code: ErrorCode.PLUGIN_START_FAILED });
  await flush();
  t.same(notes, [{ n: 9 }]);
});
