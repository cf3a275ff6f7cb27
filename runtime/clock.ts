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
    if (options.unref) unrefTimer(handle);
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

/**
 * Node's timeout.unref() on a handle from clock.setTimeout: the timer does not keep the process alive (a daemon
 * timer must not keep a finished CLI or test alive). A fake clock's handle has no unref and is left as it is.
 */
export function unrefTimer(handle: unknown): void {
  (handle as { unref?: () => void } | null | undefined)?.unref?.();
}

/**
 * `promise`'s value, or `undefined` when `ms` pass on the clock first (a question an isolate may never answer).
 * The timer is cleared as soon as either settles, so a ManualClock test sees no timer left behind; `unref` as in
 * {@link every}. A rejection of `promise` passes through.
 */
export async function within<T>(clock: Clock, ms: number, promise: Promise<T>, options: { unref?: boolean } = {}): Promise<T | undefined> {
  let handle: unknown;
  const late = new Promise<undefined>((resolve) => {
    handle = clock.setTimeout(() => resolve(undefined), ms);
    if (options.unref) unrefTimer(handle);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clock.clearTimeout(handle);
  }
}

/** Resolves after `ms` on the clock (a retry's backoff). The timer keeps the process alive: something awaits it. */
export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}
