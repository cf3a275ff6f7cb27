/** The clock, injected (docs/ARCHITECTURE.md "Injection: clock, processes, file system") so restart backoff and grace periods are testable without sleeping. */
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

/** A repeating timer from {@link every}; stop() is idempotent. */
export interface Repeating {
  stop(): void;
}

/**
 * Runs `fn` every `ms` on the clock (each run schedules the next, so a ManualClock test drives it with advance()).
 * Built on setTimeout rather than a setInterval in Clock, so every Clock (test fakes included) has it.
 * `unref`: the timer does not keep the process alive (Node's timeout.unref(); fakes have none and ignore it).
 */
export function every(clock: Clock, ms: number, fn: () => void, options: { unref?: boolean } = {}): Repeating {
  let handle: unknown;
  let stopped = false;
  const schedule = () => {
    handle = clock.setTimeout(tick, ms);
    if (options.unref) (handle as { unref?: () => void } | undefined)?.unref?.();
  };
  const tick = () => {
    if (stopped) return;
    schedule();
    fn();
  };
  schedule();
  return {
    stop: () => {
      stopped = true;
      clock.clearTimeout(handle);
    },
  };
}
