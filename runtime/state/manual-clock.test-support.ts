/** Test support for the state DB: the shared ManualClock, and settle() for in-memory writes. */

export { ManualClock } from '../manual-clock.ts';

/** Lets every pending promise chain (an in-memory write) run to completion. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
