/**
 * The WebAssembly JS API as this code uses it. The project's lib (ES2023, no DOM) types the WebAssembly namespace
 * only partly, and not as a value; these are the members the driver and the VM host need.
 */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(deltaPages: number): number;
}

interface WasmApi {
  Memory: new (descriptor: { initial: number; maximum?: number }) => WasmMemory;
  compile(bytes: Uint8Array): Promise<WebAssembly.Module>;
}

export const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
