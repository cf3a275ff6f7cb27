/**
 * The host side of the QuickJS bridge: installs the functions of VmHostApi (vm/host-contract.ts) in the VM's
 * global, turning QuickJS handles into plain values on the way in and back on the way out. What each call does
 * belongs to the VM (quickjs-vm.ts, through HostTarget); this file only crosses the boundary. Channel messages
 * cross as JSON plus their ArrayBuffers (message-codec.ts), copied out of the VM's memory only once admitted.
 */
import type { QuickJSContext, QuickJSHandle } from 'quickjs-emscripten-core';
import type { ChannelMessage } from '../../core/channel-messages.ts';
import { decodeMessage } from './message-codec.ts';
import type { VmErrorInfo, VmHostApi } from './vm/host-contract.ts';
import { HOST_GLOBAL } from './vm/host-contract.ts';

/** The longest console line kept; longer ones are cut. */
const MAX_LINE = 16 * 1024;

/** What the host functions call on the VM. Function handles passed in are duplicates the target then owns. */
export interface HostTarget {
  bootstrap(): string;
  /**
   * Before a post is copied out of the VM: true lets it through. `size` measures it from its handles (the string's
   * length, the buffers' sizes) without copying, and is only called if the target needs it.
   */
  admit(size: () => number): boolean;
  post(message: ChannelMessage, buffers: ArrayBuffer[]): void;
  onDeliver(fn: QuickJSHandle): void;
  onTimer(fn: QuickJSHandle): void;
  setTimer(id: number, ms: number, ref: boolean): void;
  clearTimer(id: number): void;
  output(stream: 'stdout' | 'stderr', line: string): void;
  keepAlive(on: boolean): void;
  exit(code: number): void;
  uncaught(info: VmErrorInfo): void;
}

export function installHostFunctions(ctx: QuickJSContext, target: HostTarget): void {
  const host = ctx.newObject();
  // Named by the contract: a host function the VM runtime does not know of (or a misspelt one) fails tsc.
  const fn = (name: keyof VmHostApi, impl: (...args: QuickJSHandle[]) => QuickJSHandle | void) => {
    const f = ctx.newFunction(name, impl);
    ctx.setProp(host, name, f);
    f.dispose();
  };
  fn('bootstrap', () => ctx.newString(target.bootstrap()));
  fn('post', (json, ...buffers) => {
    // Only a string primitive: its length is measured and its text copied without running VM code. An object would
    // answer `length` and toString() from getters of its own (JSON.stringify is the agent's to replace), so a size
    // checked by the one and a message copied by the other need not agree: 10 bytes admitted, 4 MB sent.
    if (ctx.typeof(json as QuickJSHandle) !== 'string') throw new TypeError('host.post takes the encoded message as a string');
    if (!target.admit(() => postedBytes(ctx, json as QuickJSHandle, buffers))) return;
    const copies = buffers.map((b) => {
      const view = ctx.getArrayBuffer(b);
      try {
        return view.value.slice().buffer;
      } finally {
        view.dispose();
      }
    });
    target.post(decodeMessage(ctx.getString(json as QuickJSHandle), copies) as ChannelMessage, copies);
  });
  fn('onDeliver', (f) => target.onDeliver((f as QuickJSHandle).dup()));
  fn('setTimer', (id, ms, ref) => target.setTimer(ctx.getNumber(id as QuickJSHandle), ctx.getNumber(ms as QuickJSHandle), ctx.dump(ref as QuickJSHandle) === true));
  fn('clearTimer', (id) => target.clearTimer(ctx.getNumber(id as QuickJSHandle)));
  fn('onTimer', (f) => target.onTimer((f as QuickJSHandle).dup()));
  fn('write', (stream, text) => {
    const s = ctx.getString(stream as QuickJSHandle) === 'stderr' ? 'stderr' : 'stdout';
    for (const line of ctx.getString(text as QuickJSHandle).split('\n')) target.output(s, line.length > MAX_LINE ? line.slice(0, MAX_LINE) : line);
  });
  fn('keepAlive', (on) => target.keepAlive(ctx.dump(on as QuickJSHandle) === true));
  fn('exit', (code) => target.exit(Math.trunc(ctx.getNumber(code as QuickJSHandle)) || 0));
  fn('uncaught', (info) => target.uncaught(sanitiseInfo(ctx.dump(info as QuickJSHandle))));
  fn('now', () => ctx.newNumber(performance.now()));
  ctx.setProp(ctx.global, HOST_GLOBAL, host);
  host.dispose();
}

/** A post's size from its handles, before anything is copied out of the VM's memory. */
function postedBytes(ctx: QuickJSContext, json: QuickJSHandle, buffers: QuickJSHandle[]): number {
  let bytes = ctx.getLength(json) ?? 0;
  for (const b of buffers) {
    const view = ctx.getArrayBuffer(b);
    bytes += view.value.byteLength;
    view.dispose();
  }
  return bytes;
}

function sanitiseInfo(value: unknown): VmErrorInfo {
  const v = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const info: VmErrorInfo = { name: typeof v.name === 'string' ? v.name : 'Error', message: typeof v.message === 'string' ? v.message : String(v.message) };
  if (typeof v.code === 'string') info.code = v.code;
  return info;
}
