// The process driver's usage() without procfs (procRoot points at an empty folder, as on a system without /proc):
// memory is asked inside the child, and a child too busy to answer is given up on when the driver's clock passes
// usageTimeoutMs, with the last known memory. A real child under the permission model; a manual clock.
import t from 'tap';
import { busyUsageGivesUp } from '../busy-usage.test-support.ts';
import { ManualClock } from '../../manual-clock.ts';
import { ProcessDriver } from './process-driver.ts';

t.test('without procfs, usage() asks the child and gives up on a busy one when the clock passes usageTimeoutMs', async (t) => {
  const clock = new ManualClock();
  const driver = new ProcessDriver({ clock, usageTimeoutMs: 1000, procRoot: t.testdir({}) });
  t.teardown(() => driver.close());
  const answered = await busyUsageGivesUp(t, driver, clock, 1000);
  t.equal(answered.cpuPercent, 0, 'no CPU figure without procfs');
});
