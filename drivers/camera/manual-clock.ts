/**
 * Test support for the camera and serial tests: the shared ManualClock (runtime/manual-clock.ts), starting at the
 * small time these tests were written against.
 */
import { ManualClock as SharedManualClock } from '../../runtime/manual-clock.ts';

export class ManualClock extends SharedManualClock {
  constructor(start = 1_000_000) {
    super(start);
  }
}
