/**
 * The Node timers behind the VM runtime's setTimeout/setInterval (vm/timers-console.ts): the runtime holds a
 * timer id, the host arms a Node timer for it and, when it fires, calls back into the VM (quickjs-vm.ts runs that
 * as a turn). `ref` false is Timeout.unref(): such a timer does not keep the agent alive.
 */
export class VmTimers {
  readonly #timers = new Map<number, { handle: ReturnType<typeof setTimeout>; ref: boolean }>();
  readonly #fire: (id: number) => void;

  constructor(fire: (id: number) => void) {
    this.#fire = fire;
  }

  /** Arms (or re-arms) timer `id`. */
  set(id: number, ms: number, ref: boolean): void {
    this.clear(id);
    const handle = setTimeout(() => {
      this.#timers.delete(id);
      this.#fire(id);
    }, ms);
    this.#timers.set(id, { handle, ref });
  }

  clear(id: number): void {
    const t = this.#timers.get(id);
    if (t) clearTimeout(t.handle);
    this.#timers.delete(id);
  }

  /** Whether a referenced timer keeps the agent alive (checked after every turn: no array built for it). */
  anyRef(): boolean {
    for (const t of this.#timers.values()) if (t.ref) return true;
    return false;
  }

  /** Clears every timer (the VM ended). */
  clearAll(): void {
    for (const t of this.#timers.values()) clearTimeout(t.handle);
    this.#timers.clear();
  }
}
