/**
 * Test support shared by the worker and process drivers' tests: usage() asks the isolate for its memory and, when
 * the isolate is too busy to answer, gives up as the driver's injected clock passes the timeout, reporting the last
 * known memory (docs/ARCHITECTURE.md "Injection: clock, processes, file system").
 */
import type { Test } from 'tap';
import type { LifecycleNote, LogNote } from '../core/channel-messages.ts';
import { loadBlueprint } from '../design/blueprint.ts';
import type { ManualClock } from '../manual-clock.ts';
import type { IIsolationDriver, IsolateUsage } from './isolation-driver.ts';

/** Idle while running (a timer keeps it alive); its stop(ctx) logs, then never returns. */
const SPIN_IN_STOP = "export default { name: 'p', start() { this.t = setInterval(() => {}, 1000); }, stop(ctx) { ctx.log.info('spinning'); for (;;) {} } };";

/** Runs the scenario on `driver` (built with `clock`); returns the usage the idle isolate answered. */
export async function busyUsageGivesUp(t: Test, driver: IIsolationDriver, clock: ManualClock, timeoutMs: number): Promise<IsolateUsage> {
  const dir = t.testdir({ 'agent.json': JSON.stringify({ id: 'busy', version: '1.0.0', plugins: ['./main.js'] }), 'main.js': SPIN_IN_STOP });
  const isolate = await driver.start({ pid: '9', blueprint: await loadBlueprint(`${dir}/agent.json`), env: { OPENSTARRY_AGENT_ID: 'busy', OPENSTARRY_HOME: '/tmp/busy-home' } });
  t.teardown(() => isolate.terminate());
  const running = new Promise<void>((resolve) => isolate.channel.onNote('lifecycle', (p) => (p as LifecycleNote).state === 'running' && resolve()));
  const spinning = new Promise<void>((resolve) => isolate.channel.onNote('log', (p) => (p as LogNote).message === 'spinning' && resolve()));
  await running;
  const answered = await isolate.usage();
  t.ok(answered.memoryBytes > 0, 'an idle isolate answers');
  t.equal(clock.pending, 0, 'the answer cleared the wait');
  // Its stop(ctx) never returns: from here on the isolate cannot answer anything.
  void isolate.channel.request('agent.stop').catch(() => undefined);
  await spinning;
  let done = false;
  const asked = isolate.usage().then((u) => ((done = true), u));
  await new Promise((r) => setTimeout(r, 50));
  t.equal(clock.pending, 1, 'the wait is a timer on the driver\'s clock');
  t.notOk(done, 'no answer from a spinning isolate while that clock stands');
  clock.advance(timeoutMs);
  t.equal((await asked).memoryBytes, answered.memoryBytes, 'the last known memory');
  t.equal(clock.pending, 0, 'no timer left behind');
  return answered;
}
