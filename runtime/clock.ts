/** The clock, injected (DESIGN §5.2) so restart backoff and grace periods are testable without sleeping. */
export interface Clock {
  /**
   * Milliseconds, monotonic: anchored at the Unix epoch when the process started, then advancing with
   * performance.now(). A Pi has no real-time clock and jumps when NTP syncs; durations must not jump with it.
   */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => performance.timeOrigin + performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
