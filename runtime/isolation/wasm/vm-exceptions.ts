/**
 * Reading an exception out of a QuickJS VM (quickjs-vm.ts): its name, message, code and stack, and whether it is
 * the interrupt (the deadline) or QuickJS's "out of memory", each of which ends the agent differently.
 */
import type { QuickJSContext, QuickJSHandle } from 'quickjs-emscripten-core';
import type { VmErrorInfo } from './vm/host-contract.ts';

export type Dumped = { info: VmErrorInfo; interrupted: boolean; outOfMemory: boolean };

/** Reads (and disposes) an exception handle. Never throws: a VM out of memory may fail to describe it. */
export function takeException(ctx: QuickJSContext, handle: QuickJSHandle): Dumped {
  let info: VmErrorInfo;
  try {
    if (ctx.typeof(handle) === 'object' && !isNullHandle(ctx, handle)) {
      const read = (key: string) => {
        const h = ctx.getProp(handle, key);
        try {
          const v = ctx.dump(h);
          return typeof v === 'string' ? v : undefined;
        } finally {
          h.dispose();
        }
      };
      info = { name: read('name') ?? 'Error', message: read('message') ?? '' };
      const code = read('code');
      if (code !== undefined) info.code = code;
      const stack = read('stack');
      if (stack !== undefined) info.stack = stack;
    } else {
      info = { name: 'Error', message: `non-error thrown: ${String(ctx.dump(handle))}` };
    }
  } catch (err) {
    info = { name: 'InternalError', message: `(the error could not be read: ${(err as Error).message})` };
  } finally {
    handle.dispose();
  }
  return { info, interrupted: info.name === 'InternalError' && info.message === 'interrupted', outOfMemory: info.name === 'InternalError' && info.message === 'out of memory' };
}

function isNullHandle(ctx: QuickJSContext, handle: QuickJSHandle): boolean {
  return ctx.sameValue(handle, ctx.null);
}
