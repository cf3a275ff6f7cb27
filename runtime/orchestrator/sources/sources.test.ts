// Event source adapters on the manual clock: timers, GPIO edges, sensor polling (no stacking, timeouts, quiet
// failure logging), lifecycle transitions, and startRuleSources wiring them from a rule set. No leaked timers.
import t from 'tap';
import type { IAgentStatus } from '../../supervisor/agent-status.ts';
import type { HalInputEdge } from '../../core/hal-api.ts';
import { createLogger } from '../../logging/logger.ts';
import { ManualClock } from '../../manual-clock.ts';
import type { OrchestratorEvent } from '../orchestrator.ts';
import { parseRulesFile } from '../rules-loader.ts';
import { startGpioSource } from './gpio-source.ts';
import { createLifecycleSource } from './lifecycle-source.ts';
import { startRuleSources } from './rule-sources.ts';
import { startSensorSource } from './sensor-source.ts';
import { startTimerSource } from './timer-source.ts';

const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};
function logCapture() {
  const lines: string[] = [];
  return { lines, log: createLogger('src', { write: (l) => void lines.push(l) }) };
}

t.test('timers emit timer:<name> with a count, on schedule, and skip (not stack) overdue ticks', async (t) => {
  const clock = new ManualClock();
  const events: OrchestratorEvent[] = [];
  const src = startTimerSource({ timers: [{ name: 'fast', everyMs: 1000 }, { name: 'slow', everyMs: 5000 }], clock, emit: (e) => void events.push(e) });
  clock.advance(5000);
  t.same(events.filter((e) => e.name === 'timer:fast').map((e) => e.data), [1, 2, 3, 4, 5].map((count) => ({ name: 'fast', count })));
  t.same(events.filter((e) => e.name === 'timer:slow').length, 1);
  t.equal(events[0]?.source, 'timer');
  events.length = 0;
  clock.stall(3500); // a blocked event loop
  clock.advance(0);
  t.equal(events.filter((e) => e.name === 'timer:fast').length, 1, 'one tick for the overdue period, not three');
  clock.advance(500);
  t.equal(events.filter((e) => e.name === 'timer:fast').length, 2, 'then back on the grid');
  src.stop();
  src.stop();
  t.equal(clock.pending, 0, 'no timer left');
});

t.test('gpio edges become gpio:<device>:<edge>; an unwatchable device is logged; stop unwatches', async (t) => {
  const listeners = new Map<string, (e: HalInputEdge) => void>();
  const events: OrchestratorEvent[] = [];
  const { lines, log } = logCapture();
  const src = startGpioSource({
    devices: ['pir', 'button', 'pir', 'fan'],
    watch: (id, l) => {
      if (id === 'fan') throw new Error('fan is not an input');
      listeners.set(id, l);
      return () => void listeners.delete(id);
    },
    emit: (e) => void events.push(e),
    log,
  });
  t.same([...listeners.keys()], ['pir', 'button'], 'each device watched once');
  listeners.get('pir')?.({ edge: 'rising', value: 1, at: 1 });
  listeners.get('button')?.({ edge: 'falling', value: 0, at: 2 });
  t.same(events, [
    { name: 'gpio:pir:rising', data: { device: 'pir', edge: 'rising', value: 1 }, source: 'gpio' },
    { name: 'gpio:button:falling', data: { device: 'button', edge: 'falling', value: 0 }, source: 'gpio' },
  ]);
  t.ok(lines.some((l) => /gpio device fan, which cannot be watched: fan is not an input/.test(l)));
  src.stop();
  t.equal(listeners.size, 0);
});

t.test('sensors: polled, one read at a time, timeouts and failures logged on change only', async (t) => {
  const clock = new ManualClock();
  const events: OrchestratorEvent[] = [];
  const { lines, log } = logCapture();
  let mode: 'ok' | 'fail' | 'hang' = 'ok';
  let reads = 0;
  const src = startSensorSource({
    sensors: [{ device: 'env0', quantity: 'temperature', everyMs: 1000 }],
    read: async () => {
      reads += 1;
      if (mode === 'fail') throw new Error('i2c NACK');
      if (mode === 'hang') return new Promise<number>(() => undefined);
      return 20 + reads;
    },
    clock,
    emit: (e) => void events.push(e),
    log,
    timeoutMs: 2500,
  });
  clock.advance(0);
  await flush();
  clock.advance(1000);
  await flush();
  t.same(events.map((e) => e.data), [{ device: 'env0', quantity: 'temperature', value: 21 }, { device: 'env0', quantity: 'temperature', value: 22 }]);
  t.equal(events[0]?.name, 'sensor:env0.temperature');
  mode = 'fail';
  for (let i = 0; i < 3; i++) {
    clock.advance(1000);
    await flush();
  }
  t.equal(lines.filter((l) => /cannot be read: i2c NACK/.test(l)).length, 1, 'logged once while failing');
  mode = 'hang';
  clock.advance(1000);
  await flush();
  clock.advance(1000);
  await flush();
  t.equal(src.counters()['env0.temperature']?.skipped, 1, 'no second read while one hangs');
  clock.advance(1000);
  await flush();
  mode = 'ok';
  clock.advance(1000); // the timeout (at +2500) fires in this advance; the poll due with it still finds the read busy
  await flush();
  clock.advance(1000);
  await flush();
  t.equal(src.counters()['env0.temperature']?.failures, 4, 'the hung read timed out and counts as a failure');
  t.ok(lines.some((l) => /sensor env0.temperature reads again/.test(l)));
  t.equal(events.length, 3);
  src.stop();
  t.equal(clock.pending, 0, 'no timer left');
});

t.test('lifecycle: transitions into running/exited/crashed emit agent:<id>:started|exited|crashed once', async (t) => {
  const events: OrchestratorEvent[] = [];
  const src = createLifecycleSource((e) => void events.push(e));
  const base: IAgentStatus = { pid: '3', agentId: 'devops-agent', template: 'devops-agent', isolation: 'worker', state: 'starting', startedAt: '', restarts: 0, cpuPercent: 0, memoryBytes: 0, tokensUsed: 0 };
  src.observe(base);
  src.observe({ ...base, state: 'running' });
  src.observe({ ...base, state: 'running', cpuPercent: 3 });
  src.observe({ ...base, state: 'crashed', reason: 'boom', exitCode: 1 });
  src.observe({ ...base, state: 'restarting', restarts: 1 });
  src.observe({ ...base, state: 'running', restarts: 1 });
  src.observe({ ...base, state: 'exited', exitCode: 0, restarts: 1 });
  t.same(events.map((e) => e.name), ['agent:devops-agent:started', 'agent:devops-agent:crashed', 'agent:devops-agent:started', 'agent:devops-agent:exited']);
  t.same(events[1]?.data, { agentId: 'devops-agent', pid: '3', template: 'devops-agent', state: 'crashed', restarts: 0, exitCode: 1, reason: 'boom' });
  t.equal(events[0]?.source, 'lifecycle');
});

t.test('startRuleSources starts what the rules need and stops it all', async (t) => {
  const rules = parseRulesFile(
    `timers: [{ name: beat, every: 1s }]
rules:
  - { on: "timer:beat", action: "publish(x)" }
  - { on: "gpio:pir:rising", action: "spawn(motion-camera)" }
  - { on: "gpio:*:falling", action: "publish(y)" }
  - { on: "sensor:env0.humidity", every: 2s, if: "value > 80.0", action: "publish(z)" }
`,
    'o.yaml',
  );
  const clock = new ManualClock();
  const events: string[] = [];
  const watched: string[] = [];
  const { log } = logCapture();
  const sources = startRuleSources(rules, {
    emit: (e) => void events.push(e.name),
    clock,
    log,
    watch: (id) => {
      watched.push(id);
      return () => undefined;
    },
    inputDevices: () => ['pir', 'button'],
    read: async () => 50,
  });
  t.same(watched.sort(), ['button', 'pir']);
  clock.advance(2000);
  await flush();
  t.ok(events.includes('timer:beat'));
  t.ok(events.includes('sensor:env0.humidity'));
  sources.lifecycle.observe({ pid: '1', agentId: 'a', template: 'a', isolation: 'worker', state: 'running', startedAt: '', restarts: 0, cpuPercent: 0, memoryBytes: 0, tokensUsed: 0 });
  t.ok(events.includes('agent:a:started'));
  sources.stop();
  sources.stop();
  t.equal(clock.pending, 0);

  const { lines, log: log2 } = logCapture();
  startRuleSources(rules, { emit: () => undefined, clock, log: log2 }).stop();
  t.ok(lines.some((l) => /no HAL watch/.test(l)));
  t.ok(lines.some((l) => /no HAL read/.test(l)));
});
