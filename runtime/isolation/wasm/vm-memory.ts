/**
 * The WebAssembly memory one QuickJS VM runs in (quickjs-vm.ts): imported with `maximum` = limits.memoryMb, so a
 * growth past the cap fails, malloc returns NULL and QuickJS throws "out of memory". Emscripten grows the heap
 * through this object (emscripten_resize_heap, in a try/catch), so the wrapped grow() records each refusal: the
 * VM ends the agent as out-of-memory after that turn even if agent code caught the error.
 */
import type { WasmMemory } from './wasm-api.ts';
import { wasmApi } from './wasm-api.ts';

const PAGE = 64 * 1024;
/** The QuickJS build's declared minimum memory (its INITIAL_MEMORY, 16 MiB): a cap can not go below it. */
export const MIN_WASM_BYTES = 16 * 1024 * 1024;

/** A memory capped at `memoryBytes` (at least MIN_WASM_BYTES), and whether its last growth was refused. */
export function cappedWasmMemory(memoryBytes: number): { memory: WasmMemory; growRefused: () => boolean } {
  const memory = new wasmApi.Memory({ initial: MIN_WASM_BYTES / PAGE, maximum: Math.max(MIN_WASM_BYTES, memoryBytes) / PAGE });
  let refused = false;
  const grow = memory.grow.bind(memory);
  (memory as { grow: WasmMemory['grow'] }).grow = (delta: number) => {
    try {
      const before = grow(delta);
      refused = false;
      return before;
    } catch (err) {
      refused = true;
      throw err;
    }
  };
  return { memory, growRefused: () => refused };
}
