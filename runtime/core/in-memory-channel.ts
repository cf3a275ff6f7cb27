/**
 * Two connected in-process channel ports: what a MessagePort pair does, minus the thread. Messages are
 * structured-cloned and delivered on a later microtask, like postMessage, so code tested over it behaves as it
 * would across an isolate boundary. Transferred buffers are cloned (there is no second heap to move them to).
 */
import type { ChannelMessage, IChannelPort } from './channel-messages.ts';

export function inMemoryChannelPair(): [IChannelPort, IChannelPort] {
  const handlers: [((m: unknown) => void)[], ((m: unknown) => void)[]] = [[], []];
  const closed = [false, false];
  const make = (side: 0 | 1): IChannelPort => ({
    post: (message: ChannelMessage) => {
      const copy = structuredClone(message);
      const other = side === 0 ? 1 : 0;
      queueMicrotask(() => {
        if (closed[other] || closed[side]) return;
        for (const h of handlers[other]) h(copy);
      });
    },
    onMessage: (h) => {
      handlers[side].push(h);
    },
    close: () => {
      closed[side] = true;
    },
  });
  return [make(0), make(1)];
}
