// The process driver's usage() without procfs (procRoot points at an empty folder, as on a system without /proc):
// memory is asked inside the child, and a child too busy to answer is given up on when the driver's clock passes
// usageTimeoutMs, with the last known memory. A real child under the permission model; a manual clock.
import t from 'tap';
import { loadBlueprint } from '../../design/blueprint.ts';
import type { LifecycleNote, LogNote } from '../../core/channel-messages.ts';
import { ManualClock } from '../../manual-clock.ts';
import { ProcessDriver } from './process-driver.ts';

t.test('without procfs, usage() asks the child and gives up on a busy one when the clock passes usageTimeoutMs', async (t) => {
  const clock = new ManualClock();
  const driver = new ProcessDriver({ clock, usageTimeoutMs: 1000, procRoot: t.testdir({}) });
  t.teardown(() => driver.close());
  const dir = t.testdir({
    'agent.json': JSON.stringify({ id: 'busy', version: '1.0.0', plugins: ['./main.js'] }),
    'main.js': "export default { name: 'p', start() { this.t = setInterval(() => {}, 1000); }, stop(ctx) { ctx.log.info('spinning'); for (;;) {} } };",
  });
  const isolate = await driver.start({ pid: '9', blueprint: await loadBlueprint(`${dir}/agent.json`), env: { OPENSTARRY_AGENT_ID: 'busy', OPENSTARRY_HOME: '/tmp/busy-home' } });
  t.teardown(() => isolate.terminate());
  const running = new Promise<void>((resolve) => isolate.channel.onNote('lifecycle', (p) => (p as LifecycleNote).state === 'running' && resolve()));
  const spinning = new Promise<void>((resolve) => isolate.channel.onNote('log', (p) => (p as LogNote).message === 'spinning' && resolve()));
  await running;
  const answered = await isolate.usage();
  t.ok(answered.memoryBytes > 0, 'the child answers while idle');
  t.equal(answered.cpuPercent, 0, 'no CPU figure without procfs');
  t.equal(clock.pending, 0, 'the answer cleared the wait');
  // Its stop(ctx) never returns: from here on the isolate cannot answer anything.
  void isolate.channel.request('agent.stop').catch(() => undefined);
  await spinning;
  let done = false;
  const asked = isolate.usage().then((u) => ((done = true), u));
  await new Promise((r) => setTimeout(r, 50));
  t.equal(clock.pending, 1, 'the wait is a timer on the driver\'s clock');
  t.notOk(done, 'no answer from a spinning child while that clock stands');
  clock.advance(1000);
  t.equal((await asked).memoryBytes, answered.memoryBytes, 'the last known memory');
  t.equal(clock.pending, 0, 'no timer left behind');
});
