// Infrastructure plugins: start in order, stop in reverse, unwind on a failed start, log (not throw) stop errors.
import t from 'tap';
import { ErrorCode, OpenStarryError } from '../errors.ts';
import type { Logger } from '../logging/logger.ts';
import type { InfrastructurePlugin } from './infrastructure.ts';
import { InfrastructureRunner } from './infrastructure.ts';

function recordingLogger() {
  const lines: { level: string; message: string }[] = [];
  const log: Logger = {
    debug: (message) => void lines.push({ level: 'debug', message }),
    info: (message) => void lines.push({ level: 'info', message }),
    warn: (message) => void lines.push({ level: 'warn', message }),
    error: (message) => void lines.push({ level: 'error', message }),
    setLevel: () => undefined,
    child: () => log,
  };
  return { log, lines };
}

function plugin(name: string, calls: string[], opts: { failStart?: Error; failStop?: Error } = {}): InfrastructurePlugin {
  return {
    name,
    async start() {
      calls.push(`${name}:start`);
      await Promise.resolve();
      if (opts.failStart) throw opts.failStart;
    },
    async stop() {
      calls.push(`${name}:stop`);
      if (opts.failStop) throw opts.failStop;
    },
  };
}

t.test('starts in order, stops in reverse; states follow', async (t) => {
  const calls: string[] = [];
  const { log, lines } = recordingLogger();
  const runner = new InfrastructureRunner([plugin('state-db', calls), plugin('broker', calls), plugin('mqtt', calls)], log);
  t.same(runner.states(), [
    { name: 'state-db', state: 'pending' },
    { name: 'broker', state: 'pending' },
    { name: 'mqtt', state: 'pending' },
  ]);
  await runner.startAll();
  t.same(calls, ['state-db:start', 'broker:start', 'mqtt:start']);
  t.same(runner.states().map((s) => s.state), ['running', 'running', 'running']);
  t.same(lines.map((l) => l.message), ['infrastructure plugin state-db started', 'infrastructure plugin broker started', 'infrastructure plugin mqtt started']);
  await runner.stopAll();
  t.same(calls.slice(3), ['mqtt:stop', 'broker:stop', 'state-db:stop']);
  t.same(runner.states().map((s) => s.state), ['stopped', 'stopped', 'stopped']);
});

t.test('a state is "starting" while its start runs', async (t) => {
  let seen: unknown;
  const runner = new InfrastructureRunner(
    [
      {
        name: 'slow',
        start: async () => {
          seen = runner.states();
        },
        stop: async () => {},
      },
      { name: 'next', start: async () => {}, stop: async () => {} },
    ],
    recordingLogger().log,
  );
  await runner.startAll();
  t.same(seen, [
    { name: 'slow', state: 'starting' },
    { name: 'next', state: 'pending' },
  ]);
});

t.test('a failing start stops the started ones in reverse and throws ERR_INFRA_FAILED naming the plugin', async (t) => {
  const calls: string[] = [];
  const cause = new Error('port 1883 in use');
  const runner = new InfrastructureRunner([plugin('a', calls), plugin('b', calls), plugin('broker', calls, { failStart: cause }), plugin('never', calls)], recordingLogger().log);
  const err = await runner.startAll().catch((e: unknown) => e);
  t.ok(err instanceof OpenStarryError);
  t.match(err, { code: ErrorCode.INFRA_FAILED, message: 'infrastructure plugin "broker" failed to start: port 1883 in use' });
  t.equal((err as Error).cause, cause);
  t.same(calls, ['a:start', 'b:start', 'broker:start', 'b:stop', 'a:stop'], 'the failed one is not stopped; "never" never starts');
  t.same(runner.states(), [
    { name: 'a', state: 'stopped' },
    { name: 'b', state: 'stopped' },
    { name: 'broker', state: 'failed' },
    { name: 'never', state: 'pending' },
  ]);
  await runner.stopAll();
  t.equal(calls.length, 5, 'a later stopAll stops nothing again');
});

t.test('stop errors are logged, not thrown, and every plugin still gets its stop', async (t) => {
  const calls: string[] = [];
  const { log, lines } = recordingLogger();
  const runner = new InfrastructureRunner([plugin('a', calls), plugin('b', calls, { failStop: new Error('flush failed') }), plugin('c', calls)], log);
  await runner.startAll();
  await t.resolves(runner.stopAll());
  t.same(calls.slice(3), ['c:stop', 'b:stop', 'a:stop']);
  t.same(lines.filter((l) => l.level === 'error'), [{ level: 'error', message: 'infrastructure plugin b failed to stop: flush failed' }]);
  t.same(runner.states().map((s) => s.state), ['stopped', 'running', 'stopped'], 'the one whose stop failed is not reported stopped');
});

t.test('stopAll is idempotent and harmless before startAll', async (t) => {
  const calls: string[] = [];
  const runner = new InfrastructureRunner([plugin('a', calls), plugin('b', calls)], recordingLogger().log);
  await runner.stopAll();
  t.same(calls, [], 'nothing started, nothing stopped');
  await runner.startAll();
  await runner.stopAll();
  await runner.stopAll();
  t.same(calls, ['a:start', 'b:start', 'b:stop', 'a:stop']);
});

t.test('duplicate names are rejected at construction', async (t) => {
  t.throws(() => new InfrastructureRunner([plugin('db', []), plugin('mqtt', []), plugin('db', [])], recordingLogger().log), {
    code: ErrorCode.INFRA_FAILED,
    message: 'infrastructure plugin "db" is listed twice',
  });
});

t.test('no plugins: start and stop do nothing', async (t) => {
  const runner = new InfrastructureRunner([], recordingLogger().log);
  await runner.startAll();
  await runner.stopAll();
  t.same(runner.states(), []);
});
