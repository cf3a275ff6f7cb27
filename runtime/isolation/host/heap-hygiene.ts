/**
 * Keeps a busy agent's heap near its live size (issue 13, README "Performance" > Soak).
 *
 * A worker agent that works steadily (a sensor read and an event 10 times a second) promotes short-lived objects to
 * its old generation, and V8 collects that generation only when it reaches an allocation limit that starts at half
 * the isolate's maximum (`limits.memoryMb`): for the default 64 MB an agent's heap grows by garbage for hours before
 * the first full collection. The 30-minute soak run measured it: the daemon's RSS +32 % after warm-up, all of it
 * the agents' heaps, flat when each agent collected before reporting. Ten agents may each hold 32 MB of garbage on
 * a 512 MB board, and the supervisor's memory-limit would count garbage as use.
 *
 * So the host collects at the supervisor's usage question (`agent.usage`, every `agents.usageIntervalMs`): when the
 * heap has grown by more than a step since the last collection it made (2 MiB, or a quarter of what was live then
 * if more), it runs one full GC first and answers with the figures after it. An agent whose heap does not grow is
 * never collected by the host; V8's own collections go on as before.
 *
 * The collector is an eager memory measurement (`vm.measureMemory({ execution: 'eager' })`): V8 answers it with a
 * full mark-compact started at once, and its promise settles after that collection. It needs no V8 flag. V8's `gc`
 * would need --expose-gc set by the driver after start, and a V8 flag changed makes Node's cached builtins stale: the
 * workers after it compile Node's internal modules again (issue 12, README "Performance": the daemon's boot rejected
 * 239 cached modules with it, 187 without; `NODE_DEBUG_NATIVE=CODE_CACHE` shows it). Agent code never reaches a
 * `gc`: should Node have been started with --expose-gc anyway, the host takes it off the global before any agent
 * code runs (hideGc).
 */

/** Takes V8's `gc` off the isolate's global, where --expose-gc would put it; call before any agent code runs. */
export function hideGc(global: Record<string, unknown> = globalThis as unknown as Record<string, unknown>): void {
  if (typeof global.gc !== 'function') return;
  // --expose-gc defines `gc` as a global function declaration: writable, not configurable.
  Object.defineProperty(global, 'gc', { value: undefined, writable: false });
}

/** The part of node:vm the collector uses. */
export interface MeasureMemory {
  measureMemory(options: { mode: 'summary'; execution: 'eager' }): Promise<unknown>;
}

/**
 * A full GC of this isolate, through an eager memory measurement (see the header). Its result is not used: agent
 * code that defines Object.prototype.then sees it (plain figures) and can only delay its own usage answer, which the
 * supervisor bounds (worker-driver.ts, USAGE_TIMEOUT_MS).
 */
export function measureCollector(vm: MeasureMemory): () => Promise<void> {
  return async () => {
    await vm.measureMemory({ mode: 'summary', execution: 'eager' });
  };
}

export interface HeapFigures {
  used_heap_size: number;
}

/** The smallest growth, in bytes, that makes the host collect (below it a full GC buys too little). */
export const HYGIENE_MIN_STEP = 2 * 2 ** 20;

/**
 * `read` returns the heap's figures; `collect` runs a full GC (undefined: never collect); `collected` hears the
 * used size before and after each collection (the agent's debug log). Returns the figures to report: after a
 * collection when the heap grew past the step since the lowest seen, else as read. The heap's physical size
 * falls later (V8 releases pages lazily); what a collection bounds is its growth: the next objects reuse the space.
 */
export function heapHygiene<T extends HeapFigures>(read: () => T, collect: (() => Promise<void>) | undefined, collected?: (beforeBytes: number, afterBytes: number) => void): () => Promise<T> {
  let live: number | undefined;
  return async () => {
    const now = read();
    if (!collect) return now;
    // The lowest heap seen stands for what is live: V8's own collections lower it too.
    if (live === undefined || now.used_heap_size < live) {
      live = now.used_heap_size;
      return now;
    }
    if (now.used_heap_size - live <= Math.max(HYGIENE_MIN_STEP, live / 4)) return now;
    await collect();
    const after = read();
    live = after.used_heap_size;
    collected?.(now.used_heap_size, after.used_heap_size);
    return after;
  };
}
