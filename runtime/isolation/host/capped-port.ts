/**
 * The sender's side of the channel cap (message-cap.ts), inside the isolate: every message the agent host posts
 * is measured first, and one over `maxMessageBytes` is never sent. Instead the host sends the small
 * `host.message-too-large` note and ends the isolate (exit 1): the daemon reports `message-too-large: <n> bytes >
 * <cap>`. This is host code, outside the module sandbox: agent code reaches the channel only through ctx (log,
 * events, HAL), all of which post here. The daemon checks again on its side, for a hostile isolate.
 * Once tripped, the port sends nothing more, and the post that tripped it throws, so the agent's code path stops.
 */
import type { ChannelMessage, IChannelPort } from '../../core/channel-messages.ts';
import { isolateNote } from '../../core/channel-methods.ts';
import { ErrorCode, OpenStarryError } from '../../core/errors.ts';
import { DEFAULT_MAX_MESSAGE_BYTES, TOO_LARGE_NOTE, messageSizeOver, tooLargeReason } from '../message-cap.ts';

export function cappedPort(port: IChannelPort, maxMessageBytes: number | undefined, exit: (code: number) => void): IChannelPort {
  const cap = maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  let tripped = false;
  return {
    post(message: ChannelMessage, transfer?: readonly ArrayBuffer[]) {
      if (tripped) return;
      const bytes = messageSizeOver(message, cap);
      if (bytes === undefined) {
        port.post(message, transfer);
        return;
      }
      tripped = true;
      port.post(isolateNote(TOO_LARGE_NOTE, { bytes, cap }));
      exit(1);
      throw new OpenStarryError(ErrorCode.MESSAGE_TOO_LARGE, tooLargeReason(bytes, cap));
    },
    onMessage: (handler) => port.onMessage(handler),
    close: () => port.close(),
  };
}
